"""The bare durable limit: a Flask app that reads the body and commits one row per request.

It runs under gunicorn with the bridge's settings and on an engine built by the bridge's own
``build_engine`` (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: default fsync),
so the only difference from the bridge is the bridge's own work: verify, parse, three rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, Response, jsonify, request
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, Table, insert
from sqlalchemy.engine import Engine

from bridge.store.db import EngineHolder, build_engine

metadata = MetaData()
rows = Table(
    "bare_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", LargeBinary, nullable=False),
)


def create_table(database_url: str) -> None:
    """Create the one table (before gunicorn starts, so workers never race to create it)."""
    engine = build_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()


def create_app(database_url: str) -> Flask:
    """The app: POST /hooks/<name> stores the body and answers 202; GET /healthz."""
    app = Flask(__name__)
    holder = EngineHolder(database_url, max_overflow=0)  # the bridge's web pool

    def engine() -> Engine:
        return holder.get()

    @app.post("/hooks/<name>")
    def receive(name: str) -> Response:
        body = request.get_data()
        with engine().begin() as conn:
            conn.execute(insert(rows).values(received_at=datetime.now(UTC), body=body))
        response = jsonify(stored=True)
        response.status_code = 202
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(ok=True)

    return app


app = create_app(os.environ.get("BENCH_DATABASE_URL", "sqlite:///var/bench-bare.sqlite"))
