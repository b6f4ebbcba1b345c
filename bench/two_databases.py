"""Two SeeCodes apps in one WSGI callable, one per bench database, picked per request by the X-Bench-Database
header (bench/growth_credentials.py).

Served by one gunicorn, a client's keep-alive connection reaches the same worker process (and the same
threads) whichever database its request is for. Two servers, one per database, did not give that: each
spreads its 4 connections over its 2 workers as the accepts fall (2 + 2, 3 + 1 or 4 + 0), most likely why
two servers on identical databases differed by up to 14 % for a whole 30-second measurement.
"""
import os

from seecodes import create_app

from .growth_credentials import HEADER

SIDES = ("fresh", "spent")
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")

apps = {side: create_app({"SQLALCHEMY_DATABASE_URI": os.environ[f"SEECODES_BENCH_{side.upper()}_DATABASE_URL"]})
        for side in SIDES}


def app(environ, start_response):
    return apps[environ.get(_ENVIRON_KEY, "fresh")](environ, start_response)
