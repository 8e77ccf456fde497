"""Issue 14, item 6: nothing secret crosses a network in clear. The server serves HTTPS with a certificate it
re-reads when the files change (no restart), plain HTTP only on loopback unless allowed; the agent verifies the
server against a CA bundle and refuses plain HTTP to another machine; database URLs take libpq's sslmode."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile

import boto3
import botocore.exceptions
import pytest

from conftest import BIN, REGION, _free_port, wait_for


def make_certificates(directory, *names):
    args = [BIN, "admin", "make-certificates", "--dir", str(directory)]
    for name in names:
        args += ["--name", name]
    subprocess.run(args, check=True, capture_output=True)
    return {n: os.path.join(directory, f) for n, f in
            [("ca", "ca.pem"), ("cert", "server.pem"), ("key", "server-key.pem")]}


def served_certificate(port):
    """The DER certificate the server presents (no verification: we compare it, not trust it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def test_boto3_and_the_cli_verify_the_server_against_the_ca_bundle(server, tenant):
    ecs = boto3.client("ecs", endpoint_url=server.tls_endpoint, region_name=REGION, verify=server.ca,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    ecs.create_cluster(clusterName="over-tls")
    assert "over-tls" in " ".join(ecs.list_clusters()["clusterArns"])
    untrusting = boto3.client("ecs", endpoint_url=server.tls_endpoint, region_name=REGION,
                              aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    with pytest.raises(botocore.exceptions.SSLError):
        untrusting.list_clusters()
    env = dict(os.environ, **tenant.env())
    out = subprocess.run(["aws", "ecs", "list-clusters", "--endpoint-url", server.tls_endpoint, "--ca-bundle", server.ca,
                          "--region", REGION, "--output", "json"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "over-tls" in out.stdout, out.stderr
    # The agent door answers over TLS too (the agents of the other tests use it); plain HTTP to the TLS port fails.
    assert subprocess.run(["curl", "-sf", "--cacert", server.ca, f"{server.tls_endpoint}/healthz"]).returncode == 0
    assert subprocess.run(["curl", "-sf", f"http://127.0.0.1:{server.tls_endpoint.rsplit(':', 1)[1]}/healthz"],
                          capture_output=True).returncode != 0


def test_a_renewed_certificate_is_served_without_a_restart(server_env, tmp_path):
    files = make_certificates(tmp_path / "tls", "localhost", "127.0.0.1")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([BIN, "server", "--host", "127.0.0.1", "--port", str(port), "--tls-cert", files["cert"],
                                "--tls-key", files["key"], "--tls-reload-interval", "0.5"],
                               env=server_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def healthy():
            return subprocess.run(["curl", "-sf", "--cacert", files["ca"], f"https://127.0.0.1:{port}/healthz"],
                                  capture_output=True).returncode == 0 or None
        assert wait_for(healthy, seconds=30)
        first = served_certificate(port)
        # Held open across the renewal: an established connection keeps working.
        context = ssl.create_default_context(cafile=files["ca"])
        held = context.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")

        make_certificates(tmp_path / "tls", "localhost", "127.0.0.1", "stowage.test")
        assert wait_for(lambda: served_certificate(port) != first or None, seconds=15), "the new certificate is served"
        assert process.poll() is None, "the same process"
        assert healthy(), "and it verifies against the same CA"
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert held.recv(100).startswith(b"HTTP/1.1 200")
        held.close()

        # A broken pair (a key that does not match) is not loaded: the last good one stays in service.
        served = served_certificate(port)
        other = make_certificates(tmp_path / "other", "localhost")
        shutil.copy(other["key"], files["key"])
        assert wait_for(lambda: "TLS certificate not reloaded" in open(tmp_path / "server.log").read(), seconds=15), \
            "the server saw the broken pair"
        assert served_certificate(port) == served and healthy()
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_plain_http_off_loopback_is_refused_unless_allowed(server_env, tmp_path):
    out = subprocess.run([BIN, "server", "--host", "0.0.0.0", "--port", str(_free_port())], env=server_env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "refusing to serve plain HTTP on 0.0.0.0" in out.stderr, out.stderr
    port = _free_port()
    process = subprocess.Popen([BIN, "server", "--host", "0.0.0.0", "--port", str(port), "--allow-plain-http"], env=server_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/healthz"], capture_output=True).returncode == 0 or None,
                        seconds=30), "an operator may allow it"
    finally:
        process.terminate()
        process.wait(timeout=15)
    out = subprocess.run([BIN, "agent", "--endpoint", "http://192.0.2.10:8080", "--cluster", "c", "--state-dir", str(tmp_path / "a")],
                         env=dict(server_env, AWS_ACCESS_KEY_ID="AKIA0", AWS_SECRET_ACCESS_KEY="x"), capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "refusing plain HTTP to 192.0.2.10" in out.stderr, out.stderr


def test_an_agent_refuses_a_server_its_ca_bundle_does_not_sign(server, tenant, tmp_path):
    from conftest import Agent, ecs_client
    stranger = make_certificates(tmp_path / "stranger", "127.0.0.1")
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="wrong-ca")
    agent = Agent(server, tenant, "wrong-ca", tmp_path / "agent")
    agent.stop()
    agent.args[agent.args.index("--ca-bundle") + 1] = stranger["ca"]
    agent.start()
    try:
        # The HTTP client retries a failed handshake until the request's deadline, then the agent says why.
        def refused():
            return "registration failed" in (text := open(f"{tmp_path / 'agent'}.log").read()) and "certificate" in text.lower() or None
        assert wait_for(refused, seconds=60), open(f"{tmp_path / 'agent'}.log").read()[-2000:]
        assert ecs.list_container_instances(cluster="wrong-ca")["containerInstanceArns"] == [], "it never registered"
    finally:
        agent.stop()


@pytest.fixture
def tls_postgres(tmp_path):
    """A second PostgreSQL, on TCP with TLS (a certificate from our CA), in a directory its user can reach."""
    certs = make_certificates(tmp_path / "pgtls", "localhost", "127.0.0.1")
    directory = tempfile.mkdtemp(prefix="stowage-pgtls-", dir="/tmp")
    port = _free_port()
    subprocess.run([BIN, "postgres", "start", "--unsafe-fast", "--dir", f"{directory}/pg", "--port", str(port), "--listen", "127.0.0.1",
                    "--tls-cert", certs["cert"], "--tls-key", certs["key"]], check=True, capture_output=True, timeout=120)
    yield port, certs
    subprocess.run([BIN, "postgres", "stop", "--dir", f"{directory}/pg", "--port", str(port)], capture_output=True, timeout=60)
    shutil.rmtree(directory, ignore_errors=True)


def test_database_urls_take_libpq_sslmode(server_env, tls_postgres, tmp_path):
    port, certs = tls_postgres
    base = f"postgres://postgres@127.0.0.1:{port}/stowage"

    def migrate(url):
        return subprocess.run([BIN, "migrate"], env=dict(server_env, STOWAGE_DATABASE_URL=url), capture_output=True, text=True, timeout=120)

    verified = migrate(f"{base}?sslmode=verify-full&sslrootcert={certs['ca']}")
    assert verified.returncode == 0, verified.stderr
    stranger = make_certificates(tmp_path / "stranger", "127.0.0.1")
    refused = migrate(f"{base}?sslmode=verify-full&sslrootcert={stranger['ca']}")
    assert refused.returncode != 0, "a server our root does not sign is refused"
    assert migrate(f"{base}?sslmode=require").returncode == 0, "require: encrypted, not verified (libpq)"
    bad = migrate(f"{base}?sslmode=maybe")
    assert bad.returncode != 0 and "sslmode 'maybe'" in bad.stderr + bad.stdout

    # The server's connections really are encrypted: PostgreSQL says so in pg_stat_ssl.
    api_port = _free_port()
    process = subprocess.Popen([BIN, "server", "--host", "127.0.0.1", "--port", str(api_port)],
                               env=dict(server_env, STOWAGE_DATABASE_URL=f"{base}?sslmode=verify-full&sslrootcert={certs['ca']}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{api_port}/readyz"], capture_output=True).returncode == 0 or None,
                        seconds=30)
        rows = subprocess.run(["psql", f"{base}?sslmode=require", "-tAc",
                               "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                               "WHERE a.datname = 'stowage' AND a.pid <> pg_backend_pid()"],
                              capture_output=True, text=True, check=True).stdout.split()
        assert rows and set(rows) == {"t"}, rows
    finally:
        process.terminate()
        process.wait(timeout=15)
