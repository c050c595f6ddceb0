"""The Nexmark query texts and CSV columns shared by bench/run (eddy) and bench/flink_csv.py (Flink).

The queries are the text of nexmark-flink/src/main/resources/queries/q*.sql
(github.com/nexmark/nexmark), changed only where noted in bench/README.md; both engines run
exactly these strings. No imports beyond the standard library: bench/flink_csv.py runs it in
PyFlink's Python.
"""

# Columns of the three views, in order: the CSV files and the filesystem tables over them.
COLUMNS = {
    "person": "id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR",
    "auction": "id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR",
    "bid": "auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR",
}
COLUMN_NAMES = {
    "person": "id, name, emailAddress, creditCard, city, state, dateTime, extra",
    "auction": "id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra",
    "bid": "auction, bidder, price, channel, url, dateTime, extra",
}

# Nexmark's proportions: of every 50 events, 1 person, 3 auctions, 46 bids (docs/nexmark.md).
PROPORTIONS = {"person": (0, 1), "auction": (1, 4), "bid": (4, 50)}
CYCLE = 50


class Query:
    def __init__(self, name, title, inputs, sink_ddl, insert, note="", setup=()):
        self.name = name
        self.title = title
        self.inputs = inputs  # views the query reads
        self.sink_ddl = sink_ddl
        self.insert = insert
        self.note = note
        # Statements run once before the sink's DDL (views, side tables); `{side_input}`
        # is the path of the file write_side_input wrote.
        self.setup = list(setup)


# Nexmark q13's side input: `key,value` for keys 0..9999, as nexmark-flink's
# side_input_gen.sh writes it.
SIDE_INPUT_ROWS = 10_000


def write_side_input(path):
    """Writes q13's side input file at `path` (a str or Path)."""
    with open(path, "w") as f:
        for key in range(SIDE_INPUT_ROWS):
            f.write(f"{key},{key}\n")


QUERIES = [
    Query(
        "q0", "pass through", ["bid"],
        "CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra VARCHAR) "
        "WITH ('connector' = 'blackhole')",
        "INSERT INTO nexmark_q0 SELECT auction, bidder, price, dateTime, extra FROM bid",
    ),
    Query(
        "q1", "currency conversion", ["bid"],
        "CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), dateTime TIMESTAMP(3), extra VARCHAR) "
        "WITH ('connector' = 'blackhole')",
        "INSERT INTO nexmark_q1 SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid",
    ),
    Query(
        "q2", "selection", ["bid"],
        "CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT) WITH ('connector' = 'blackhole')",
        "INSERT INTO nexmark_q2 SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
    ),
    Query(
        "q5", "hot items (HOP windows, window join)", ["bid"],
        "CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q5
SELECT AuctionBids.auction, AuctionBids.num
 FROM (
   SELECT
     auction,
     count(*) AS num,
     window_start AS starttime,
     window_end AS endtime
     FROM TABLE(
             HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
 ) AS AuctionBids
 JOIN (
   SELECT
     max(CountBids.num) AS maxn,
     CountBids.starttime,
     CountBids.endtime
   FROM (
     SELECT
       count(*) AS num,
       window_start AS starttime,
       window_end AS endtime
     FROM TABLE(
                HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
     GROUP BY auction, window_start, window_end
     ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND
    AuctionBids.endtime = MaxBids.endtime AND
    AuctionBids.num >= MaxBids.maxn""",
    ),
    Query(
        "q8", "monitor new users (TUMBLE window join)", ["person", "auction"],
        "CREATE TABLE nexmark_q8 (id BIGINT, name VARCHAR, stime TIMESTAMP(3)) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q8
SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name,
        window_start AS starttime,
        window_end AS endtime
  FROM TABLE(
            TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller,
        window_start AS starttime,
        window_end AS endtime
  FROM TABLE(
        TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY seller, window_start, window_end
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime""",
    ),
    Query(
        "q3", "local item suggestion (regular join)", ["auction", "person"],
        "CREATE TABLE nexmark_q3 (name VARCHAR, city VARCHAR, state VARCHAR, id BIGINT) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q3
SELECT
    P.name, P.city, P.state, A.id
FROM
    auction AS A INNER JOIN person AS P on A.seller = P.id
WHERE
    A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')""",
    ),
    Query(
        "q4", "average price per category (join, two group aggregations)", ["auction", "bid"],
        "CREATE TABLE nexmark_q4 (id BIGINT, final DOUBLE) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q4
SELECT
    Q.category,
    AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category""",
    ),
    Query(
        "q7", "highest bid (TUMBLE maximum joined back)", ["bid"],
        "CREATE TABLE nexmark_q7 (auction BIGINT, price BIGINT, bidder BIGINT, dateTime TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q7
SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
from bid B
JOIN (
  SELECT MAX(price) AS maxprice, window_end as dateTime
  FROM TABLE(
          TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.price = B1.maxprice
WHERE B.dateTime BETWEEN B1.dateTime  - INTERVAL '10' SECOND AND B1.dateTime""",
    ),
    Query(
        "q9", "winning bids (Top-1 over a join)", ["auction", "bid"],
        "CREATE TABLE nexmark_q9 (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP(3), "
        "expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR, auction BIGINT, bidder BIGINT, price BIGINT, "
        "bid_dateTime TIMESTAMP(3), bid_extra VARCHAR) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q9
SELECT
    id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,
    auction, bidder, price, bid_dateTime, bid_extra
FROM (
   SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
     ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
   FROM auction A, bid B
   WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
)
WHERE rownum <= 1""",
    ),
    Query(
        "q18", "last bid per bidder and auction (deduplication)", ["bid"],
        "CREATE TABLE nexmark_q18 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q18
SELECT auction, bidder, price, channel, url, dateTime, extra
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
          FROM bid)
    WHERE rank_number <= 1""",
    ),
    Query(
        "q19", "top 10 bids per auction (Top-N)", ["bid"],
        "CREATE TABLE nexmark_q19 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR, rank_number BIGINT) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q19
SELECT * FROM
(SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
WHERE rank_number <= 10""",
    ),
    Query(
        "q20", "expand bid with auction (regular join)", ["bid", "auction"],
        "CREATE TABLE nexmark_q20 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, bid_dateTime TIMESTAMP(3), bid_extra VARCHAR, "
        "itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, auction_dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, "
        "category BIGINT, auction_extra VARCHAR) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q20
SELECT
    auction, bidder, price, channel, url, B.dateTime, B.extra,
    itemName, description, initialBid, reserve, A.dateTime, expires, seller, category, A.extra
FROM
    bid AS B INNER JOIN auction AS A on B.auction = A.id
WHERE A.category = 10""",
    ),
    Query(
        "q12", "bids per bidder in processing-time windows (TUMBLE on PROCTIME())", ["bid"],
        "CREATE TABLE nexmark_q12 (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q12
SELECT
    bidder,
    count(*) as bid_count,
    window_start AS starttime,
    window_end AS endtime
FROM TABLE(
        TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end""",
        setup=["CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid"],
    ),
    Query(
        "q10", "log to a file system partitioned by day and minute (partition commit)", ["bid"],
        """CREATE TABLE nexmark_q10 (
  auction  BIGINT,
  bidder  BIGINT,
  price  BIGINT,
  dateTime  TIMESTAMP(3),
  extra  VARCHAR,
  dt STRING,
  hm STRING
) PARTITIONED BY (dt, hm) WITH (
  'connector' = 'filesystem',
  'path' = 'file://{output}/q10/bid/',
  'format' = 'csv',
  'sink.partition-commit.trigger' = 'partition-time',
  'sink.partition-commit.delay' = '1 min',
  'sink.partition-commit.policy.kind' = 'success-file',
  'partition.time-extractor.timestamp-pattern' = '$dt $hm:00',
  'sink.rolling-policy.rollover-interval' = '1min',
  'sink.rolling-policy.check-interval' = '1min'
)""",
        """INSERT INTO nexmark_q10
SELECT auction, bidder, price, dateTime, extra, DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm')
FROM bid""",
        note="the sink's path is under the run's temporary directory ({output}) instead of ${NEXMARK_DIR}/data/output/${SUBMIT_TIME}",
    ),
    Query(
        "q13", "bids joined with a bounded side input (processing-time temporal join)", ["bid"],
        "CREATE TABLE nexmark_q13 (auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3), `value` VARCHAR) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q13
SELECT
    B.auction,
    B.bidder,
    B.price,
    B.`dateTime`,
    S.`value`
FROM (SELECT *, PROCTIME() as p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON mod(B.auction, 10000) = S.key""",
        note="side_input is a filesystem csv table (Nexmark's uses the legacy csv source, which Flink 2.3 no longer has)",
        setup=["CREATE TABLE side_input (key BIGINT, `value` VARCHAR) "
               "WITH ('connector' = 'filesystem', 'path' = '{side_input}', 'format' = 'csv')"],
    ),
    Query(
        "q15", "bidding statistics per day (COUNT DISTINCT with FILTER)", ["bid"],
        "CREATE TABLE nexmark_q15 (`day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT, "
        "total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT, rank3_bidders BIGINT, total_auctions BIGINT, "
        "rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT) WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q15
SELECT
     DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
     count(*) AS total_bids,
     count(*) filter (where price < 10000) AS rank1_bids,
     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
     count(*) filter (where price >= 1000000) AS rank3_bids,
     count(distinct bidder) AS total_bidders,
     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
     count(distinct auction) AS total_auctions,
     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
FROM bid
GROUP BY DATE_FORMAT(`dateTime`, 'yyyy-MM-dd')""",
    ),
    Query(
        "q16", "channel statistics per day (COUNT DISTINCT with FILTER)", ["bid"],
        "CREATE TABLE nexmark_q16 (channel VARCHAR, `day` VARCHAR, `minute` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, "
        "rank2_bids BIGINT, rank3_bids BIGINT, total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT, "
        "rank3_bidders BIGINT, total_auctions BIGINT, rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q16
SELECT
    channel,
    DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
    max(DATE_FORMAT(`dateTime`, 'HH:mm')) as `minute`,
    count(*) AS total_bids,
    count(*) filter (where price < 10000) AS rank1_bids,
    count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
    count(*) filter (where price >= 1000000) AS rank3_bids,
    count(distinct bidder) AS total_bidders,
    count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
    count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
    count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
    count(distinct auction) AS total_auctions,
    count(distinct auction) filter (where price < 10000) AS rank1_auctions,
    count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
    count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
FROM bid
GROUP BY channel, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd')""",
    ),
    Query(
        "q17", "auction statistics per day (COUNT with FILTER, MIN, MAX, AVG, SUM)", ["bid"],
        "CREATE TABLE nexmark_q17 (auction BIGINT, `day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, "
        "rank3_bids BIGINT, min_price BIGINT, max_price BIGINT, avg_price BIGINT, sum_price BIGINT) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_q17
SELECT
     auction,
     DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
     count(*) AS total_bids,
     count(*) filter (where price < 10000) AS rank1_bids,
     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
     count(*) filter (where price >= 1000000) AS rank3_bids,
     min(price) AS min_price,
     max(price) AS max_price,
     avg(price) AS avg_price,
     sum(price) AS sum_price
FROM bid
GROUP BY auction, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd')""",
    ),
    Query(
        "tumble", "count/max per auction (TUMBLE 10 s)", ["bid"],
        "CREATE TABLE nexmark_tumble (auction BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), num BIGINT, max_price BIGINT) "
        "WITH ('connector' = 'blackhole')",
        """INSERT INTO nexmark_tumble
SELECT auction, window_start, window_end, count(*), max(price)
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY auction, window_start, window_end""",
        note="not a Nexmark query",
    ),
]
# In Nexmark's order, the non-Nexmark query last.
QUERIES.sort(key=lambda q: (not q.name[1:].isdigit(), int(q.name[1:]) if q.name[1:].isdigit() else 0))
QUERY_BY_NAME = {q.name: q for q in QUERIES}


def rows_of(kind, events):
    """How many of the first `events` Nexmark events are of `kind`."""
    lo, hi = PROPORTIONS[kind]
    full, rest = divmod(events, CYCLE)
    return full * (hi - lo) + max(0, min(rest, hi) - lo)
