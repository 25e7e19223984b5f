-- tests/bench/lua/get.lua — workload 2: GET /api/v1/residents/{id} as a
-- random grid worker, for a random resident of that worker's grid.
-- args: callers file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
	math.randomseed(os.time() * 100 + tid)
	load_users(args[1])
end

function request()
	local u = pick_user()
	return wrk.format("GET", "/api/v1/residents/" .. u.ids[math.random(#u.ids)], auth(u))
end
