-- tests/bench/lua/list.lua — workload 3: a grid worker's list of their grid,
-- GET /api/v1/residents?region=<grid>&limit=50.  args: callers file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
	math.randomseed(os.time() * 100 + tid)
	load_users(args[1])
end

function request()
	local u = pick_user()
	return wrk.format("GET", "/api/v1/residents?region=" .. u.grid .. "&limit=50", auth(u))
end
