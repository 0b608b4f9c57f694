-- Back to full pages for the review queue (the default fillfactor).
ALTER TABLE manual_review_queue RESET (fillfactor);
