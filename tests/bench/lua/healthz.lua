-- tests/bench/lua/healthz.lua — workload 1: GET /healthz (the URL given to
-- wrk); loads common.lua only for its JSON summary.  No auth: the route is public.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
