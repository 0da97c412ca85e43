"""The Datasette metadata names tables and columns that exist, and facets by receiver, reason, status."""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings
from incidents.store import Store
from tests.conftest import ROOT

METADATA = ROOT / "incidents" / "datasette-metadata.json"


def test_metadata_matches_the_schema(db_path):
    metadata = json.loads(METADATA.read_text())
    assert metadata["title"] and metadata["description"]
    # Datasette names a database after its file: the default DATABASE_PATH's stem.
    assert list(metadata["databases"]) == [Path(Settings.from_env({}).database_path).stem]
    tables = metadata["databases"]["deliverability"]["tables"]
    with Store.open(db_path) as store:
        assert set(tables) == set(store.db.table_names())
        for name, table in tables.items():
            assert table["description"], name
            columns = set(store.db[name].columns_dict)
            named = set(table.get("columns", {})) | set(table.get("facets", []))
            named |= {table[k] for k in ("sort_desc", "sort", "label_column") if k in table}
            assert named <= columns, (name, named - columns)
            if not table.get("hidden"):
                assert table["title"]
                assert set(table["columns"]) >= columns - {"id"}, (name, columns - set(table["columns"]))
    assert tables["incidents"]["facets"] == ["receiver", "reason", "status"]
