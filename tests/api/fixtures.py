"""fixtures — shared set-up and small checks for the core API tests.

What it is for: the one region tree and the one cast of users (district,
street, community and grid-worker accounts, created through the admin API)
that tests/api/test_*.py drive, plus helpers every file needs: the JSON
error shape, bounded polling, requests from a chosen loopback source
address (the login rate limit counts per address), Prometheus parsing.

What it is not for: checking behaviour (the test files do that) or
starting processes (ogtest does that).
"""

import http.client
import json
import os
import re
import time
import types

import ogtest

PW = "Grid-pass-2024"

# The users setup() creates: name -> (role, region key in World).
CAST = {
    "district": ("district", "district"),
    "street_e": ("street", "street_e"),
    "street_w": ("street", "street_w"),
    "community_e1": ("community", "comm_e1"),
    "community_w1": ("community", "comm_w1"),
    "grid_a": ("grid_worker", "grid_a"),
    "grid_b": ("grid_worker", "grid_b"),
    "grid_w": ("grid_worker", "grid_w"),
}

# Region keys -> names ogtest.make_regions() gives them.
REGION_NAMES = {
    "district": "示范区",
    "street_e": "东街道",
    "street_w": "西街道",
    "comm_e1": "东街道一社区",
    "comm_e2": "东街道二社区",
    "comm_w1": "西街道一社区",
    "grid_a": "东街道一社区第1网格",
    "grid_b": "东街道一社区第2网格",
    "grid_c": "东街道二社区第1网格",
    "grid_w": "西街道一社区第1网格",
}


def regions(pg, district="示范区", code="110105000000"):
    """ogtest.make_regions() as a namespace with the REGION_NAMES keys
    (plus .by_name, the full name -> id map)."""
    ids = ogtest.make_regions(pg, district=district, code=code)
    ns = types.SimpleNamespace(by_name=ids)
    for key, name in REGION_NAMES.items():
        if key == "district":
            name = district
        setattr(ns, key, ids[name])
    return ns


def setup(pg, d, users=None, password=PW, login=True, prefix="", district="示范区",
          code="110105000000"):
    """Regions, then users created by the admin through POST /api/v1/users,
    then (login=True) one token each.  d must run and have an admin.
    users: a subset of CAST's names (default: all).  prefix: put before
    every username, so a second district's cast can coexist.
    Returns a World: .r (regions), .users {name: user JSON},
    .tokens {name: token}, .admin (the admin's token), .password."""
    w = types.SimpleNamespace()
    w.r = regions(pg, district=district, code=code)
    w.admin = d.admin_token()
    w.password = password
    w.users = {}
    w.tokens = {}
    for name in (users or list(CAST)):
        role, region_key = CAST[name]
        u = ogtest.create_user(pg, d, prefix + name, password, role, getattr(w.r, region_key),
                               token=w.admin)
        w.users[name] = u
        if login:
            w.tokens[name] = d.login(prefix + name, password)
    return w


# --------------------------------------------------------------------------
# Checks on answers

def error_of(r):
    """The "error" object of a JSON error reply, or None."""
    if isinstance(r.json, dict) and isinstance(r.json.get("error"), dict):
        return r.json["error"]
    return None


def code_of(r):
    e = error_of(r)
    return e.get("code") if e else None


def field_of(r):
    e = error_of(r)
    return e.get("field") if e else None


def has_error_shape(r):
    e = error_of(r)
    return (e is not None and isinstance(e.get("code"), str) and e["code"] != ""
            and isinstance(e.get("message"), str))


def check_error(t, r, status, code, name, field=None):
    """One TAP line: status, error shape, code (None: any) and field (if given)."""
    good = r.status == status and has_error_shape(r)
    if code is not None:
        good = good and code_of(r) == code
    if field is not None:
        good = good and field_of(r) == field
    want = "%d code=%s%s" % (status, code, "" if field is None else " field=%s" % field)
    return t.ok(good, name, "  got:  %r\n  want: %s" % (r, want))


def items_of(r):
    """The items of a list reply ({"items": [...]} or a bare array)."""
    if isinstance(r.json, dict) and isinstance(r.json.get("items"), list):
        return r.json["items"]
    if isinstance(r.json, list):
        return r.json
    return []


def hash_leak(obj):
    """A path to anything that looks like a password hash in a JSON value, or None."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "password" in str(k).lower() or "hash" in str(k).lower():
                return k
            p = hash_leak(v)
            if p:
                return "%s.%s" % (k, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            p = hash_leak(v)
            if p:
                return "[%d].%s" % (i, p)
    elif isinstance(obj, str) and obj.startswith("$argon2"):
        return "<argon2 string>"
    return None


# --------------------------------------------------------------------------
# Waiting, always bounded

def wait_for(pred, timeout, interval=0.1):
    """Calls pred() until it returns something true or timeout seconds
    pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def wait_status(d, method, path, want, timeout, token=None, interval=0.2, **kw):
    """Repeats a request until it answers `want` (bounded); returns the last answer."""
    last = [None]

    def once():
        last[0] = d.req(method, path, token=token, **kw)
        return last[0].status == want

    wait_for(once, timeout, interval)
    return last[0]


# --------------------------------------------------------------------------
# HTTP from a chosen loopback source address

def req_from(d, source, method, path, body=None, token=None, headers=None, raw=None, timeout=10):
    """Like d.req() but from source (e.g. "127.0.0.7"), so per-address
    counters of one test do not touch another's.  Any 127.0.0.0/8 source
    reaches a daemon listening on 127.0.0.1."""
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(d.host, d.port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        h = {}
        for k, v in r.getheaders():
            k = k.lower()
            h[k] = h[k] + ", " + v if k in h else v
        return ogtest.Resp(r.status, h, payload)
    except (OSError, http.client.HTTPException) as e:
        return ogtest.Resp(0, {}, b"", error="%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


def login_from(d, source, username, password):
    return req_from(d, source, "POST", "/api/v1/auth/login",
                    body={"username": username, "password": password})


# --------------------------------------------------------------------------
# /metrics

_METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)(\s+\d+)?$')


def metrics(d):
    """(response, [(name, labels, value)]) of GET /metrics."""
    r = d.get("/metrics")
    samples = []
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC_LINE.match(line.strip())
        if m:
            try:
                samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
            except ValueError:
                pass
    return r, samples


def metric_sum(samples, name):
    """Sum of every sample of `name` (all label sets); None when absent."""
    vals = [v for n, _, v in samples if n == name]
    return sum(vals) if vals else None


# --------------------------------------------------------------------------
# Logs

def log_lines_with(d, *needles, text=None):
    """Lines of the daemon log (or of text) containing every needle
    (case-insensitive)."""
    text = d.log() if text is None else text
    low = [n.lower() for n in needles]
    return [l for l in text.splitlines() if all(n in l.lower() for n in low)]


def exit_within(d, timeout):
    """Waits for a daemon started with wait=False to exit; its status, or
    None (after killing it) when it is still running after timeout."""
    try:
        return d.proc.wait(timeout)
    except Exception:
        d.stop(sig=9, timeout=5)
        return None


def srcdir():
    return os.environ.get("ONEGRID_SRCDIR") or ogtest.SRCDIR
