-- Reference schema of the booking application (PostgreSQL port of the original, BEHAVIOUR §D).
-- For the demo, the tests and the benchmarks only: in production these tables belong to the app,
-- and the prevention migrations never create them.
--
-- Enumerations are text on purpose: the app is known to write values outside their sets
-- (BEHAVIOUR §G-1), and catching those is a detection rule, not an insert error.
-- appointments.call_id and calls.appointment_id carry no foreign key, as in the original, so that
-- the monitor can find links to rows that do not exist.

CREATE TABLE IF NOT EXISTS companies (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS customers (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies (id),
    name        text,
    phone       text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calls (
    id                          bigserial PRIMARY KEY,
    company_id                  bigint NOT NULL REFERENCES companies (id),
    retell_call_id              text UNIQUE,
    from_number                 text,
    to_number                   text,
    direction                   text,
    duration_sec                integer,
    customer_id                 bigint,
    customer_name               text,
    customer_name_verified      boolean NOT NULL DEFAULT false,
    customer_link_status        text DEFAULT 'unlinked',
    customer_link_method        text,
    customer_link_confidence    numeric(5, 2),
    customer_linked_at          timestamptz,
    linked_by_user_id           bigint,
    linking_metadata            jsonb,
    appointment_made            boolean NOT NULL DEFAULT false,
    appointment_id              bigint,
    appointment_link_status     text DEFAULT 'unlinked',
    appointment_linked_at       timestamptz,
    session_outcome             text,
    booking_id                  text,
    booking_failed              boolean NOT NULL DEFAULT false,
    booking_failure_reason      text,
    requires_manual_processing  boolean NOT NULL DEFAULT false,
    transcript                  text,
    metadata                    jsonb,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    deleted_at                  timestamptz
);

CREATE TABLE IF NOT EXISTS appointments (
    id                    bigserial PRIMARY KEY,
    company_id            bigint NOT NULL REFERENCES companies (id),
    customer_id           bigint,
    call_id               bigint,
    calcom_v2_booking_id  text,
    source                text,
    status                text,
    starts_at             timestamptz,
    ends_at               timestamptz,
    metadata              jsonb,
    requires_manual_review    boolean NOT NULL DEFAULT false,
    manual_review_flagged_at  timestamptz,
    sync_error_message        text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz
);

CREATE TABLE IF NOT EXISTS retell_call_sessions (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES companies (id),
    call_id     text NOT NULL,
    started_at  timestamptz,
    ended_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS retell_error_log (
    id               bigserial PRIMARY KEY,
    company_id       bigint NOT NULL REFERENCES companies (id),
    call_session_id  bigint REFERENCES retell_call_sessions (id),
    booking_failed   boolean NOT NULL DEFAULT false,
    error_message    text,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- What the app queries by, and what the rules scan: the incremental window reads updated_at,
-- the joins read the links.
CREATE INDEX IF NOT EXISTS customers_company_idx ON customers (company_id);
CREATE INDEX IF NOT EXISTS calls_company_created_idx ON calls (company_id, created_at);
CREATE INDEX IF NOT EXISTS calls_updated_idx ON calls (updated_at);
CREATE INDEX IF NOT EXISTS calls_made_created_idx ON calls (appointment_made, created_at);
CREATE INDEX IF NOT EXISTS calls_customer_idx ON calls (customer_id);
CREATE INDEX IF NOT EXISTS calls_booking_id_idx ON calls (booking_id);
CREATE INDEX IF NOT EXISTS appointments_call_idx ON appointments (call_id);
CREATE INDEX IF NOT EXISTS appointments_booking_idx ON appointments (calcom_v2_booking_id);
CREATE INDEX IF NOT EXISTS appointments_updated_idx ON appointments (updated_at);
CREATE INDEX IF NOT EXISTS appointments_company_idx ON appointments (company_id, created_at);
CREATE INDEX IF NOT EXISTS retell_error_log_occurred_idx ON retell_error_log (occurred_at);

-- The marker `seed` looks for before it replaces data: it never truncates an app it did not install.
COMMENT ON TABLE calls IS 'booking-guard reference schema';
