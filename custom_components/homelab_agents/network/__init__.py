"""Network sources (Pi-hole, Tailscale, Cloudflare, UniFi) and the anomaly detection they share.

Each source is its own config entry kind with its own package, client and coordinator, so one
failing source leaves the others running. Every source turns what it polled into samples
(`models.MetricSample`, `models.PresenceSample`) and hands them to its entry's
`monitor.AnomalyMonitor`, which learns baselines, flags anomalies and reports them.
"""
