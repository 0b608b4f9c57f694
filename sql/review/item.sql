-- One review item, as people see it.
SELECT * FROM manual_review_queue WHERE id = %(id)s
