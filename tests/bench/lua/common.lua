-- tests/bench/lua/common.lua — shared by the wrk scripts of tests/bench/run.
--
-- What it is for: loading the callers file the runner writes (one grid
-- worker a line: token, grid id, sample resident ids of that grid,
-- URL-encoded names of residents of that grid), picking a random caller,
-- and printing wrk's summary as one JSON line ("BENCHJSON {...}") the
-- runner parses.  Not for: deciding what to request (each workload's
-- script does that).

users = {}

function load_users(path)
	for line in io.lines(path) do
		local tok, grid, ids, names = line:match("^(%S+)\t(%d+)\t([^\t]*)\t?(.*)$")
		if tok then
			local u = {tok = tok, grid = grid, ids = {}, names = {}}
			for id in ids:gmatch("%d+") do u.ids[#u.ids + 1] = id end
			for n in names:gmatch("[^,]+") do u.names[#u.names + 1] = n end
			if #u.ids > 0 then users[#users + 1] = u end
		end
	end
	if #users == 0 then error("no callers in " .. path) end
end

function pick_user()
	return users[math.random(#users)]
end

function auth(u)
	return {["Authorization"] = "Bearer " .. u.tok}
end

all_threads = {}

function setup(thread)
	all_threads[#all_threads + 1] = thread
	thread:set("tid", #all_threads)
end

function report(summary, latency, extra)
	local e = summary.errors
	io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,' ..
		'"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"errors_status":%d,' ..
		'"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d%s}\n',
		summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.mean, latency.max, e.status, e.connect, e.read,
		e.write, e.timeout, extra or ""))
end

function done(summary, latency, requests)
	report(summary, latency)
end
