-- Issue 23, item 3: no load balancer target or health check may point at the control plane's own endpoints.
-- Servers announce their listeners here (every minute), so that `stowage lb`, which runs elsewhere, refuses them too.
CREATE TABLE control_plane_endpoints (
    address  inet NOT NULL,
    port     int NOT NULL,
    what     text NOT NULL,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (address, port)
);
