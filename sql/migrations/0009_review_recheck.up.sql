-- Room on each page of the review queue for the hourly re-check's stamp: the claim sets
-- checked_at (in no index) on every pending item it takes, and with the new row version on the
-- same page that is a HOT update: no entry in any of the table's eight indexes (10,000 items:
-- 1.4 MB of WAL instead of 11 MB).
-- A batch stamps every pending item of a page in one transaction, so half a page is kept free;
-- the item rows are bookkeeping (thousands), the doubled size is small. The setting applies to
-- the pages written from now on; `VACUUM FULL manual_review_queue` (outside a transaction)
-- rewrites the existing ones.
ALTER TABLE manual_review_queue SET (fillfactor = 50);
