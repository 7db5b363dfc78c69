"""JupyterLab and headless Chromium as test fixtures: started as subprocesses on 127.0.0.1, stopped with
every process below them (server, kernels, chromedriver, browser) even when the test fails.

Used by tests/test_browser.py. Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]
LAB_SETTINGS = {  # user settings of the test's own JupyterLab: no autosave, no calls to the internet
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def require_browser() -> None:
    """Skip (or, with ``VIREID_BROWSER_TEST=1`` as ``make test`` sets it, fail) when Chromium, its
    driver or selenium is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if missing:
        message = "real-browser test needs " + ", ".join(missing) + " (make test installs them)"
        if os.environ.get("VIREID_BROWSER_TEST") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def stop_tree(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop ``process`` and every process below it (kernels run in their own sessions, so they are
    collected first and killed if the server's own shutdown leaves them behind)."""
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)
    _, alive = psutil.wait_procs(children, timeout=grace)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=grace)


@contextlib.contextmanager
def jupyter_lab(root_dir: Path, home: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab on 127.0.0.1 at a free port with token auth, serving ``root_dir``; its settings,
    workspaces and runtime files live under ``home``. Yields {"url", "token", "api"}."""
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = _free_port(), os.urandom(12).hex()
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = (home / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root_dir)
    url = f"http://127.0.0.1:{port}"

    def api(path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"{url}/api/{path}", method=method, headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def up() -> bool:
        assert server.poll() is None, f"JupyterLab exited: {(home / 'server.log').read_text()[-2000:]}"
        with contextlib.suppress(OSError):
            return api("status") is not None
        return False

    try:
        wait_for(up, 90, "JupyterLab to answer")
        yield {"url": url, "token": token, "api": api}
    finally:
        with contextlib.suppress(Exception):
            for kernel in api("kernels"):
                api(f"kernels/{kernel['id']}", method="DELETE")
        stop_tree(server)
        log.close()


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """Headless Chromium through chromedriver, console messages recorded, a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        if service.process is not None and service.process.poll() is None:
            stop_tree(service.process)
