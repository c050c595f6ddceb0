COPY people TO STDOUT
COPY people (id, name) TO STDOUT WITH (FORMAT csv, HEADER)
COPY (SELECT id, name, score, ok FROM people ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)
COPY (SELECT id, name, score FROM people ORDER BY id) TO STDOUT WITH (FORMAT text, DELIMITER '|', NULL 'null', HEADER)
COPY (SELECT id, name FROM people ORDER BY id) TO STDOUT WITH (FORMAT csv, DELIMITER ';', NULL 'NULL', FORCE_QUOTE (name))
COPY (SELECT id, name FROM people ORDER BY id) TO STDOUT WITH (FORMAT csv, QUOTE '''', ESCAPE '\')
COPY (SELECT '' AS empty, 'two' || chr(10) || 'lines' AS multi, '\.' AS marker, 'a' || chr(9) || 'b' AS tabbed) TO STDOUT CSV HEADER
COPY (SELECT '' AS empty, 'two' || chr(10) || 'lines' AS multi, '\.' AS marker, 'a' || chr(9) || 'b' AS tabbed) TO STDOUT
COPY (SELECT id FROM people WHERE id > 100) TO STDOUT
COPY (SELECT 'it''s' AS a, 1 AS b) TO STDOUT (FORMAT csv, QUOTE '''')
COPY (SELECT id FROM people WHERE id < 3 ORDER BY id) TO STDOUT HEADER
