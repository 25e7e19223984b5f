"""ogtest — the harness every tests/api/test_*.py imports.

What it is for: TAP output for automake's TAP driver, a throwaway
PostgreSQL cluster per test file (tests/pg-cluster.sh), the real onegridd
started on a free loopback port with chosen plugins, and a small HTTP/JSON
client.  Every wait is bounded, and clusters and daemons are stopped on
normal exit, on an uncaught exception and on SIGTERM/SIGINT/SIGHUP.

What it is not for: checking behaviour (tests do that), or anything that
needs a package beyond the Python standard library.

Environment: ONEGRID_BUILDDIR (top build dir, default: the source dir),
ONEGRID_DAEMON (override the onegridd path), ONEGRID_TEST_KEEP=1 (keep
temp dirs for a post-mortem; processes are still stopped).

    t = ogtest.TAP()
    pg = ogtest.Postgres()
    d = ogtest.Daemon(pg, plugins=["example"])
    d.migrate(); d.create_admin(password="...")
    d.start()
    tok = d.login("admin", "...")
    r = d.req("GET", "/api/v1/me", token=tok)
    t.status(r, 200, "me answers")
    t.done()
"""

import atexit
import ctypes
import fcntl
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILDDIR = os.path.abspath(os.environ.get("ONEGRID_BUILDDIR") or SRCDIR)
PG_CLUSTER = os.path.join(SRCDIR, "tests", "pg-cluster.sh")
KEEP = os.environ.get("ONEGRID_TEST_KEEP") == "1"

# Sanitizer settings for the daemon; a value already in the environment wins.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}

# Configuration overrides the daemon reads from its environment: never let
# the caller's shell leak them into a test.
_SCRUB_ENV = (
    "ONEGRID_CONFIG", "ONEGRID_LISTEN", "ONEGRID_DATABASE", "ONEGRID_WORKERS", "ONEGRID_PLUGIN_DIR",
    "ONEGRID_PLUGINS", "ONEGRID_ADMIN_PASSWORD", "ONEGRID_DEMO_PASSWORD",
)

# Lines that make a daemon log dirty.
LOG_ALARMS = ("AddressSanitizer", "runtime error:", "LeakSanitizer", " alert ", "CRIT")

_any_failure = False


def _diag_err(msg):
    # As TAP comments on stdout: automake's TAP driver copies stdout to the
    # log in order, while stderr would land out of order (its awk buffers).
    sys.stdout.write("".join("# " + line + "\n" for line in str(msg).splitlines() or [""]))
    sys.stdout.flush()


# --------------------------------------------------------------------------
# Cleanup: everything live is closed at exit or on a fatal signal, newest
# first (daemons before the cluster they use).

_live = []


def _cleanup_all():
    while _live:
        obj = _live.pop()
        try:
            obj.close()
        except Exception:  # cleanup must go on with the rest
            traceback.print_exc()


def _on_signal(signum, frame):
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    sys.stdout.write("Bail out! killed by signal %d\n" % signum)
    sys.stdout.flush()
    global _any_failure
    _any_failure = True
    _cleanup_all()
    os._exit(128 + signum)


atexit.register(_cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


# --------------------------------------------------------------------------
# TAP

class TAP:
    """TAP producer: results as they happen, the plan ("1..N") at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.finished = False
        self.bailed = False
        sys.excepthook = self._excepthook
        atexit.register(self._atexit)

    def _emit(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    @staticmethod
    def _clean(name):
        # A '#' would start a TAP directive, a newline a new TAP line.
        return " ".join(str(name).replace("#", "No.").split())

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            self._emit("# " + line)

    def ok(self, cond, name, diag=None):
        global _any_failure
        self.n += 1
        if cond:
            self._emit("ok %d - %s" % (self.n, self._clean(name)))
        else:
            self.failed += 1
            _any_failure = True
            self._emit("not ok %d - %s" % (self.n, self._clean(name)))
            if diag is not None:
                self.diag(diag)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, "  got:  %r\n  want: %r" % (got, want))

    def status(self, resp, want, name):
        """ok when resp.status == want (or is in want, a tuple); shows the body if not."""
        good = resp.status in want if isinstance(want, (tuple, list, set)) else resp.status == want
        return self.ok(good, name, "  got:  %r\n  want: %r" % (resp, want))

    def skip(self, name, reason):
        self.n += 1
        self._emit("ok %d - %s # SKIP %s" % (self.n, self._clean(name), self._clean(reason)))

    def skip_all(self, reason):
        self._emit("1..0 # SKIP %s" % self._clean(reason))
        self.finished = True
        sys.exit(0)

    def done(self):
        if not self.finished:
            self.finished = True
            self._emit("1..%d" % self.n)
            if self.failed:
                self.diag("%d of %d failed" % (self.failed, self.n))
        sys.exit(1 if self.failed else 0)

    def _excepthook(self, etype, value, tb):
        global _any_failure
        _any_failure = True
        self.bailed = True
        self.diag("".join(traceback.format_exception(etype, value, tb)).rstrip())
        self._emit("Bail out! %s: %s" % (etype.__name__, self._clean(value)[:200]))

    def _atexit(self):
        if not self.finished and not self.bailed:
            self.diag("test exited before t.done(): no plan printed")


# --------------------------------------------------------------------------
# PostgreSQL

def _lit(s):
    """SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def _pg_bindir():
    for cand in (os.environ.get("PG_BINDIR"),):
        if cand and os.access(os.path.join(cand, "psql"), os.X_OK):
            return cand
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        if out and os.access(os.path.join(out, "psql"), os.X_OK):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    base = "/usr/lib/postgresql"
    try:
        vers = sorted((v for v in os.listdir(base) if v.isdigit()), key=int)
    except OSError:
        vers = []
    return os.path.join(base, vers[-1], "bin") if vers else None


class Postgres:
    """A throwaway cluster in a short /tmp dir, with a database "onegrid"."""

    def __init__(self, dbname="onegrid"):
        self.dir = tempfile.mkdtemp(prefix="og-pg-", dir="/tmp")
        self.dbname = dbname
        bindir = _pg_bindir()
        self.psql = os.path.join(bindir, "psql") if bindir else "psql"
        self.running = False
        _live.append(self)
        self.start_server()
        self.sql("CREATE DATABASE %s" % dbname, db="postgres")
        self.conninfo = "host=%s port=5432 user=postgres dbname=%s" % (self.dir, dbname)

    def _cluster(self, *args, timeout=120):
        p = subprocess.run(["bash", PG_CLUSTER, args[0], self.dir] + list(args[1:]),
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("pg-cluster.sh %s failed (%d):\n%s%s"
                               % (args[0], p.returncode, p.stdout, p.stderr))
        return p.stdout

    def start_server(self):
        self._cluster("start")
        self.running = True

    def stop_server(self):
        self._cluster("stop")
        self.running = False

    def sql(self, query, db=None, timeout=60):
        """Runs query (one or more statements) as superuser; returns the rows
        of every statement that returns rows, as tuples of strings (NULL is "")."""
        p = subprocess.run(
            [self.psql, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-h", self.dir, "-p", "5432", "-U", "postgres", "-d", db or self.dbname, "-f", "-"],
            input=query, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("psql failed (%d): %s\nquery: %s" % (p.returncode, p.stderr.strip(), query))
        return [tuple(line.split("\t")) for line in p.stdout.splitlines()]

    def close(self):
        if self.dir is None:
            return
        try:
            self._cluster("stop", timeout=90)
        finally:
            self.running = False
            if KEEP:
                _diag_err("ogtest: kept cluster dir %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            if self in _live:
                _live.remove(self)


# --------------------------------------------------------------------------
# HTTP

class Resp:
    """One HTTP answer.  status 0 means no answer at all (see .error)."""

    def __init__(self, status, headers, body, error=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", errors="replace")
        self.error = error
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    def __repr__(self):
        if self.error:
            return "<Resp no answer: %s>" % self.error
        text = self.text if len(self.text) <= 600 else self.text[:600] + "..."
        return "<Resp %d %s>" % (self.status, text)


def _quote_path(path):
    # http.client wants ASCII: escape anything else, keep what is already escaped.
    return "".join(c if ord(c) < 128 else urllib.parse.quote(c) for c in path)


def http_request(host, port, method, path, body=None, token=None, headers=None, raw=None,
                 timeout=10):
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if headers:
        hdrs.update(headers)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, _quote_path(path), body=data, headers=hdrs)
        r = conn.getresponse()
        payload = r.read()
        h = {}
        for k, v in r.getheaders():
            k = k.lower()
            h[k] = h[k] + ", " + v if k in h else v
        return Resp(r.status, h, payload)
    except (OSError, http.client.HTTPException) as e:
        return Resp(0, {}, b"", error="%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


# --------------------------------------------------------------------------
# The daemon

_PORT_LOCKS = []
PORT_LOCK_DIR = "/tmp/onegrid-test-ports"


def free_port():
    """A loopback port no other test of this machine holds: outside the
    ephemeral range, bindable now, and locked for the life of this process
    (a daemon with SO_REUSEPORT would otherwise share it with another test)."""
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    try:
        os.makedirs(PORT_LOCK_DIR, exist_ok=True)
        os.chmod(PORT_LOCK_DIR, 0o1777)
    except OSError:
        pass
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        lockpath = os.path.join(PORT_LOCK_DIR, "%d.lock" % port)
        try:
            fd = os.open(lockpath, os.O_CREAT | os.O_RDWR, 0o666)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            os.close(fd)
            continue
        finally:
            s.close()
        _PORT_LOCKS.append(fd)
        return port
    raise RuntimeError("no free loopback port found")


try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _die_with_parent():
    # PR_SET_PDEATHSIG: a test killed with SIGKILL must not leave a daemon behind.
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def _proc_stat(pid):
    """(state, ppid) of pid, or None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s.rsplit(")", 1)[1].split()
    return rest[0], int(rest[1])


def _alive(pid):
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _plugin_name(entry):
    return entry["name"] if isinstance(entry, dict) else entry


class Daemon:
    """onegridd with a temp config, a plugin dir of symlinks and a log file."""

    def __init__(self, pg, plugins=("example",), fixtures=(), config=None, workers=2, env=None):
        self.pg = pg
        self.dir = tempfile.mkdtemp(prefix="og-d-", dir="/tmp")
        self.binary = os.environ.get("ONEGRID_DAEMON") or os.path.join(BUILDDIR, "onegridd")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc = None
        self.logfile = os.path.join(self.dir, "onegridd.log")
        self.config_path = os.path.join(self.dir, "onegrid.json")
        self.plugin_dir = os.path.join(self.dir, "plugins")
        self.admin = None  # (username, password) once create_admin ran
        self._admin_token = None
        self.leftover_workers = []
        os.mkdir(self.plugin_dir)
        _live.append(self)

        entries = list(plugins) + list(fixtures)
        for e, base in [(e, "plugins") for e in plugins] + [(e, "tests/plugins") for e in fixtures]:
            name = _plugin_name(e)
            so = os.path.join(BUILDDIR, base, ".libs", name + ".so")
            if not os.path.exists(so):
                raise FileNotFoundError("plugin %s not built: %s" % (name, so))
            os.symlink(so, os.path.join(self.plugin_dir, name + ".so"))

        self.config = {
            "listen": "%s:%d" % (self.host, self.port),
            "database": pg.conninfo,
            "workers": workers,
            "plugin_dir": self.plugin_dir,
            "plugins": entries,
        }
        self.config.update(config or {})
        self.write_config()

        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        for k, v in SANITIZER_ENV.items():
            self.env.setdefault(k, v)
        self.env.update(env or {})

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def write_config(self):
        """(Re)writes the config file from self.config; takes effect at the next start."""
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, ensure_ascii=False, indent=2)

    def _env(self, extra):
        e = dict(self.env)
        e.update(extra or {})
        return e

    # ---- one-shot commands

    def run(self, *args, env=None, timeout=120, input=None):
        """onegridd -c CONFIG ARGS...; a CompletedProcess with text stdout/stderr."""
        try:
            return subprocess.run([self.binary, "-c", self.config_path] + list(args),
                                  env=self._env(env), input=input, capture_output=True,
                                  timeout=timeout, encoding="utf-8", errors="replace")
        except subprocess.TimeoutExpired as e:
            raise AssertionError("onegridd %s did not finish in %d s" % (" ".join(args), timeout)) from e

    def _must(self, p, what):
        if p.returncode != 0:
            raise AssertionError("%s failed with status %d\n--- stdout\n%s--- stderr\n%s"
                                 % (what, p.returncode, p.stdout, p.stderr))
        return p

    def migrate(self):
        return self._must(self.run("migrate"), "onegridd migrate")

    def create_admin(self, username="admin", password="Admin-pass-1234"):
        p = self._must(self.run("create-admin", username, env={"ONEGRID_ADMIN_PASSWORD": password}),
                       "onegridd create-admin " + username)
        self.admin = (username, password)
        self._admin_token = None
        return p

    # ---- the server

    def start(self, wait=True, timeout=30):
        if self.running():
            raise RuntimeError("daemon already running (pid %d)" % self.proc.pid)
        log = open(self.logfile, "ab")
        try:
            self.proc = subprocess.Popen([self.binary, "-c", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=self.env, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        finally:
            log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        """Until GET /healthz answers (any status); raises with the log tail
        if the process exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("onegridd exited with status %d before answering\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            r = http_request(self.host, self.port, "GET", "/healthz", timeout=2)
            if r.status:
                return r
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError("onegridd did not answer /healthz within %d s\n%s"
                                   % (timeout, self.log_tail()))
            time.sleep(0.1)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def worker_pids(self):
        """Live children of the master, from /proc."""
        if not self.running():
            return []
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = _proc_stat(int(name))
                if st and st[1] == self.proc.pid and st[0] not in ("Z", "X"):
                    pids.append(int(name))
        return sorted(pids)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signals the master and waits; returns its exit status (negative:
        killed by that signal).  SIGKILLs master and workers after timeout.
        Workers still alive 5 s after the master are killed and listed in
        self.leftover_workers."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        workers = self.worker_pids()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _diag_err("ogtest: onegridd (pid %d) still running %d s after signal %d: killing it"
                      % (self.proc.pid, timeout, sig))
            self._kill()
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.leftover_workers = [w for w in workers if _alive(w)]
        for w in self.leftover_workers:
            _diag_err("ogtest: worker %d outlived the master: killing it" % w)
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        return self.proc.returncode

    def _kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def log(self):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=60):
        text = self.log().splitlines()[-lines:]
        return "--- onegridd log (last %d lines)\n%s" % (len(text), "\n".join(text))

    def check_log_clean(self, t, name="daemon log has no sanitizer report, alert or CRIT line"):
        bad = [l for l in self.log().splitlines() if any(a in l for a in LOG_ALARMS)]
        return t.ok(not bad, name, "\n".join(bad[:40]) if bad else None)

    # ---- HTTP

    def req(self, method, path, body=None, token=None, headers=None, raw=None, timeout=10):
        return http_request(self.host, self.port, method, path, body=body, token=token,
                            headers=headers, raw=raw, timeout=timeout)

    def get(self, path, token=None, **kw):
        return self.req("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.req("POST", path, body=body, token=token, **kw)

    def patch(self, path, body=None, token=None, **kw):
        return self.req("PATCH", path, body=body, token=token, **kw)

    def delete(self, path, token=None, **kw):
        return self.req("DELETE", path, token=token, **kw)

    def login(self, username, password):
        r = self.req("POST", "/api/v1/auth/login", body={"username": username, "password": password})
        if r.status != 200 or not isinstance(r.json, dict) or not r.json.get("token"):
            raise AssertionError("login as %s: %r" % (username, r))
        return r.json["token"]

    def admin_token(self):
        if self._admin_token is None:
            if self.admin is None:
                raise RuntimeError("no admin: call d.create_admin() first")
            self._admin_token = self.login(*self.admin)
        return self._admin_token

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stop(timeout=10)
        if _any_failure and os.path.exists(self.logfile):
            _diag_err(self.log_tail(200))
        if KEEP:
            _diag_err("ogtest: kept daemon dir %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live:
            _live.remove(self)


# --------------------------------------------------------------------------
# Fixtures

_STREETS = [("东街道", "001"), ("西街道", "002")]


def make_regions(pg, district="示范区", code="110105000000"):
    """Inserts a district with 2 streets, 2 communities each and 2 grids per
    community directly in SQL; returns {name: id}.  Names: the district,
    "东街道"/"西街道", "东街道一社区" ..., "东街道一社区第1网格" ...
    Child codes derive from `code`, so districts with different codes coexist
    (give them a different `district` name too if the dict must tell them apart)."""
    nodes = [(district, code, "district", None)]
    for sname, snum in _STREETS:
        scode = code[:6] + snum + "000"
        nodes.append((sname, scode, "street", code))
        for i, cname in ((1, "一社区"), (2, "二社区")):
            ccode = code[:6] + snum + "%03d" % i
            nodes.append((sname + cname, ccode, "community", scode))
            for g in (1, 2):
                nodes.append((sname + cname + "第%d网格" % g, ccode + "%02d" % g, "grid", ccode))
    stmts = []
    for name, ncode, level, parent in nodes:
        if parent is None:
            stmts.append(
                "INSERT INTO core.region (id, parent_id, level, code, name, path) "
                "SELECT n.id, NULL, 'district', %s, %s, n.id::text::ltree "
                "FROM (SELECT nextval(pg_get_serial_sequence('core.region', 'id')) AS id) n "
                "RETURNING name, id;" % (_lit(ncode), _lit(name)))
        else:
            # The parent is the newest row with that code: codes are unique per
            # sibling set only, but ours derive from the district's code.
            stmts.append(
                "INSERT INTO core.region (id, parent_id, level, code, name, path) "
                "SELECT n.id, p.id, %s, %s, %s, p.path || n.id::text::ltree "
                "FROM (SELECT id, path FROM core.region WHERE code = %s ORDER BY id DESC LIMIT 1) p, "
                "(SELECT nextval(pg_get_serial_sequence('core.region', 'id')) AS id) n "
                "RETURNING name, id;" % (_lit(level), _lit(ncode), _lit(name), _lit(parent)))
    rows = pg.sql("BEGIN;\n" + "\n".join(stmts) + "\nCOMMIT;")
    ids = {name: int(i) for name, i in rows}
    if len(ids) != len(nodes):
        raise AssertionError("make_regions: inserted %d of %d regions" % (len(ids), len(nodes)))
    return ids


def create_user(pg, d, username, password, role, scope_region_id, token=None, **extra):
    """Creates a user through POST /api/v1/users as the admin made by
    d.create_admin() (or with token); returns the response JSON.  pg is
    unused: kept so every fixture helper takes the same first argument."""
    body = {"username": username, "password": password, "role": role,
            "scope_region_id": scope_region_id}
    body.update(extra)
    r = d.req("POST", "/api/v1/users", body=body, token=token or d.admin_token())
    if r.status not in (200, 201):
        raise AssertionError("create user %s: %r" % (username, r))
    return r.json
