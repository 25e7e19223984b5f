-- 0001_party: placeholder until the party plugin's tables land.
CREATE TABLE placeholder (id integer);
