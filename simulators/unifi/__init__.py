"""A stateful UniFi Network application for tests and the demo.

HTTPS on 127.0.0.1 with a certificate generated at start, UniFi OS flavour (default) or a
classic controller, `{"meta": {"rc": "ok"}, "data": [...]}` answers, cookie sessions with a CSRF
token, a login rate limit, session expiry and logout. The site is a household replayed by the
clock: clients come and go in a daily pattern, WAN throughput and latency follow a day/week
shape with seeded noise, and anomalies can be injected.

    sim = UnifiSimulator(unifi_os=True, seed=0, clients=16, sites=("default",),
                         login_limit=5, login_retry_after=60, session_ttl=7200,
                         utc_offset_hours=0, clock=None)   # clock: time.time, looked up per call
    await sim.start()                   # or: async with UnifiSimulator() as sim:
    sim.url, sim.host, sim.port, sim.username, sim.password, sim.certificate
    sim.controller_id, sim.site_id("default")
    sim.counters["logins"], ["login_attempts"], ["login_failures"], ["rate_limited"], ["logouts"]
    sim.requests_to("stat/health")
    sim.expire_sessions(); sim.change_password("new"); sim.set_available(False)
    sim.rotate_csrf_tokens()            # next answers carry X-Updated-CSRF-Token

    net = sim.network                   # Network: clients, devices, WAN figures at any moment
    new = net.add_client("stranger-phone", sim.now)
    net.take_offline(mac); net.bring_online(mac)      # a client or a device
    net.collapse_throughput(0.02); net.raise_latency(250); net.set_wan_down(); net.clear()
"""

from .network import Network, SimClient, SimDevice
from .simulator import UnifiSimulator

__all__ = ["Network", "SimClient", "SimDevice", "UnifiSimulator"]
