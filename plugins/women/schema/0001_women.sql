-- 0001_women: placeholder until the women plugin's tables land.
CREATE TABLE placeholder (id integer);
