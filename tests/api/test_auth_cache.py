#!/usr/bin/env python3
"""test_auth_cache — a worker reuses a checked token for auth_cache_ms, yet
every change made through the API bites at once on every worker: logout,
a user switched off, a permission taken from a role, a plugin switched off
for the district.  A change made behind the daemon's back (SQL by hand)
bites as soon as the NOTIFY of the table's trigger arrives; without it
(trigger disabled) within auth_cache_ms, and until then the cache answers.

Each change is checked with many fresh connections, so that every worker
(4 here) has served, and cached, the token before the change.

Not for: login, tokens and permissions as such (test_auth, test_users)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

SPRAY = 32  # fresh connections per check: all 4 workers see some

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], workers=4,
                  config={"auth_cache_ms": 60000})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d, users=["district", "grid_a", "grid_b", "community_e1"])


def spray(path, token, method="GET"):
    """Statuses of SPRAY requests, each on its own connection."""
    return [d.req(method, path, token=token).status for _ in range(SPRAY)]


def all_are(statuses, want, name):
    t.ok(all(s == want for s in statuses), name,
         "statuses %r" % sorted(set(statuses)))


# --- logout ----------------------------------------------------------------------------
tok = d.login("grid_a", w.password)
all_are(spray("/api/v1/me", tok), 200, "a fresh token works on every worker")
r = d.post("/api/v1/auth/logout", token=tok)
t.status(r, 200, "logout is 200")
all_are(spray("/api/v1/me", tok), 401,
        "after logout the token is refused at once by every worker, cache or not")

# --- a user switched off -----------------------------------------------------------------
tok_b = w.tokens["grid_b"]
all_are(spray("/api/v1/me", tok_b), 200, "grid_b's token works on every worker")
uid = w.users["grid_b"]["id"]
cur = d.get("/api/v1/users/%d" % uid, token=w.admin).json
r = d.patch("/api/v1/users/%d" % uid, {"active": False, "version": cur["version"]},
            token=w.admin)
t.status(r, 200, "the admin switches grid_b off")
all_are(spray("/api/v1/me", tok_b), 401, "a switched-off user's token is refused at once")

# --- a permission taken from the role ---------------------------------------------------------
tok_c = w.tokens["community_e1"]
all_are(spray("/api/v1/residents?limit=1", tok_c), 200,
        "community staff list residents on every worker")
r = d.delete("/api/v1/roles/community/permissions/residents.read", token=w.admin)
t.ok(r.status in (200, 204), "the admin takes residents.read from the community role",
     repr(r))
all_are(spray("/api/v1/residents?limit=1", tok_c), 403,
        "the revoked permission is refused at once by every worker")
r = d.req("PUT", "/api/v1/roles/community/permissions/residents.read", token=w.admin)
t.ok(r.status in (200, 204), "the admin gives it back", repr(r))
all_are(spray("/api/v1/residents?limit=1", tok_c), 200,
        "the permission given back works at once on every worker")

# --- a plugin switched off for the district --------------------------------------------------
tok_d = w.tokens["district"]
all_are(spray("/api/v1/example/notes", tok_d), 200, "the example plugin answers everywhere")
r = d.req("PUT", "/api/v1/regions/%d/plugins/example" % w.r.district,
          body={"enabled": False}, token=w.admin)
t.status(r, 200, "the admin switches the example plugin off for the district")
all_are(spray("/api/v1/example/notes", tok_d), 404,
        "a switched-off plugin's routes are gone at once on every worker")

# --- behind the daemon's back ----------------------------------------------------------------
# Revoked by hand in SQL (as a DBA, `create-admin` or a second onegridd would):
# the table's trigger notifies every worker at commit.  Delivery is
# asynchronous, so allow the notification a moment to arrive.
def refused_everywhere(token, path="/api/v1/me"):
    return fx.wait_for(lambda: all(s == 401 for s in spray(path, token)), 10)


GRID_A = w.users["grid_a"]["id"]


def revoke_grid_a():
    pg.sql("UPDATE core.token SET revoked_at = now() WHERE revoked_at IS NULL "
           "AND user_id = %d" % GRID_A)


def restart_with(cache_ms):
    """Restarts the daemon with auth_cache_ms = cache_ms; a fresh token of
    grid_a that every worker has served."""
    d.stop()
    d.config["auth_cache_ms"] = cache_ms
    d.write_config()
    d.start()
    tok = d.login("grid_a", w.password)
    all_are(spray("/api/v1/me", tok), 200, "auth_cache_ms = %d: a new token works" % cache_ms)
    return tok


tok2 = d.login("grid_a", w.password)
all_are(spray("/api/v1/me", tok2), 200, "a new token works on every worker")
revoke_grid_a()
t.ok(refused_everywhere(tok2),
     "a token revoked in SQL is refused by every worker (NOTIFY), long before auth_cache_ms")

tok3 = d.login("grid_a", w.password)
all_are(spray("/api/v1/me", tok3), 200, "another new token works on every worker")
pg.sql("UPDATE core.app_user SET active = false WHERE id = %d" % GRID_A)
t.ok(refused_everywhere(tok3), "a user switched off in SQL is refused by every worker")
pg.sql("UPDATE core.app_user SET active = true WHERE id = %d" % GRID_A)

# The cache is really used: with the notifying trigger switched off, a
# revocation in SQL stays invisible to workers that cached the token until
# their entry is auth_cache_ms old.
pg.sql("ALTER TABLE core.token DISABLE TRIGGER token_notify_auth")
tok4 = restart_with(60000)
revoke_grid_a()
st = spray("/api/v1/me", tok4)
t.ok(200 in st, "without the notification, cached workers still accept the token "
     "(bounded by auth_cache_ms): the cache is used", "statuses %r" % sorted(set(st)))

# With the cache off even an unnotified revocation bites at once ...
tok5 = restart_with(0)
revoke_grid_a()
all_are(spray("/api/v1/me", tok5), 401, "auth_cache_ms = 0: refused at once")

# ... and with a short cache, within that bound.
tok6 = restart_with(300)
revoke_grid_a()
t.ok(refused_everywhere(tok6),
     "auth_cache_ms = 300: an unnotified revocation is refused once the entries age out")
pg.sql("ALTER TABLE core.token ENABLE TRIGGER token_notify_auth")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
pg.close()
t.done()
