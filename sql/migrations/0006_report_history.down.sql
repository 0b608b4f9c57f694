DROP TABLE IF EXISTS bg_report_figures;
