-- 0001_civil: placeholder until the civil plugin's tables land.
CREATE TABLE programme_placeholder (id integer);
