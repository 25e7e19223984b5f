-- 0001_volunteer: placeholder until the volunteer plugin's tables land.
CREATE TABLE placeholder (id integer);
