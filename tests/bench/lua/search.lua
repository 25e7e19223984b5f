-- tests/bench/lua/search.lua — workload 4: name search by a grid worker,
-- GET /api/v1/residents?q=<full name of a resident of their grid>.
-- args: callers file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
	math.randomseed(os.time() * 100 + tid)
	load_users(args[1])
	local with = {}
	for _, u in ipairs(users) do
		if #u.names > 0 then with[#with + 1] = u end
	end
	users = with
end

function request()
	local u = pick_user()
	return wrk.format("GET", "/api/v1/residents?q=" .. u.names[math.random(#u.names)], auth(u))
end
