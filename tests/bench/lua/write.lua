-- tests/bench/lua/write.lua — workload 5: POST /api/v1/residents (a new
-- resident in the caller's grid, with a fresh valid ID number) and, for
-- every created one, a PATCH of its phone with the version it read: writes
-- with audit, change feed and hooks.  args: callers file, file of unused
-- ID numbers, number of wrk threads (thread t takes lines t, t+n, ...).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local numbers = {}
local next_number = 1
local by_grid = {}   -- grid id -> token of its worker
local pending = {}   -- created residents waiting for their PATCH: {id, version, tok}
posts, patches, post_ok, patch_ok, other = 0, 0, 0, 0, 0

function init(args)
	math.randomseed(os.time() * 100 + tid)
	load_users(args[1])
	for _, u in ipairs(users) do by_grid[u.grid] = u.tok end
	local n, i = tonumber(args[3]), 0
	for line in io.lines(args[2]) do
		if i % n == tid - 1 then numbers[#numbers + 1] = line end
		i = i + 1
	end
end

function request()
	local p = table.remove(pending)
	if p then
		patches = patches + 1
		local body = string.format('{"version":%s,"phone":"139%08d"}', p[2],
			math.random(0, 99999999))
		return wrk.format("PATCH", "/api/v1/residents/" .. p[1],
			{["Authorization"] = "Bearer " .. p[3], ["Content-Type"] = "application/json"}, body)
	end
	local u = pick_user()
	local num = numbers[next_number]
	next_number = next_number + 1
	if num == nil then error("write.lua: out of ID numbers") end
	posts = posts + 1
	local body = string.format('{"name":"测试居民","id_type":"resident_id","id_number":"%s",' ..
		'"residence_status":"resident","grid_id":%s,"phone":"138%08d","ethnicity":"汉族"}',
		num, u.grid, math.random(0, 99999999))
	local h = auth(u)
	h["Content-Type"] = "application/json"
	last_tok = u.tok
	return wrk.format("POST", "/api/v1/residents", h, body)
end

function response(status, headers, body)
	if status == 201 then
		post_ok = post_ok + 1
		local id = body:match('"id":%s*(%d+)')
		local ver = body:match('"version":%s*(%d+)')
		local grid = body:match('"grid_id":%s*(%d+)')
		if id and ver then
			-- the token of that grid's worker: it may patch what it created
			pending[#pending + 1] = {id, ver, by_grid[grid] or last_tok}
		end
	elseif status == 200 then
		patch_ok = patch_ok + 1
	else
		other = other + 1
	end
end

function done(summary, latency, requests)
	local p, q, a, b, o = 0, 0, 0, 0, 0
	for _, t in ipairs(all_threads) do
		p = p + t:get("posts")
		q = q + t:get("patches")
		a = a + t:get("post_ok")
		b = b + t:get("patch_ok")
		o = o + t:get("other")
	end
	report(summary, latency, string.format(',"posts":%d,"patches":%d,"post_ok":%d,' ..
		'"patch_ok":%d,"other_status":%d', p, q, a, b, o))
end
