import { MigrationInterface, QueryRunner } from 'typeorm';
import { addVectorColumns, tryEnableVector } from '../src/shared/database/vector-schema';

/**
 * The whole data model. Races are settled by constraints, not by application code:
 * unique (source, external_id) links, one active spawn request per issue, one open verification
 * window per issue, one budget row per day, an append-only history.
 * Works on PostgreSQL 15+ and on PGlite (PostgreSQL 18), with or without pgvector.
 */
export class InitialSchema1764100000000 implements MigrationInterface {
  name = 'InitialSchema1764100000000';

  async up(q: QueryRunner): Promise<void> {
    const run = (sql: string): Promise<unknown> => q.query(sql);

    await run(`CREATE SEQUENCE issue_number_seq AS bigint START 1`);
    await run(`
      CREATE TABLE issues (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        number bigint NOT NULL DEFAULT nextval('issue_number_seq'),
        identifier text NOT NULL,
        title text NOT NULL,
        description text,
        status text NOT NULL DEFAULT 'triage',
        priority smallint NOT NULL DEFAULT 4,
        labels text[] NOT NULL DEFAULT '{}',
        source text NOT NULL,
        feature text NOT NULL,
        normalized_message text NOT NULL,
        first_seen_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        event_count bigint NOT NULL DEFAULT 0,
        embedding_model text,
        spawn_status text,
        spawn_run_id text,
        spawn_run_url text,
        spawn_started_at timestamptz,
        spawn_completed_at timestamptz,
        spawn_attempts integer NOT NULL DEFAULT 0,
        cooldown_until timestamptz,
        cooldown_hours double precision,
        merged_into_id uuid REFERENCES issues(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT issues_identifier_key UNIQUE (identifier),
        CONSTRAINT issues_status_check CHECK (status IN
          ('triage','investigating','needs_human','in_review','in_staging','in_production','verified','closed')),
        CONSTRAINT issues_priority_check CHECK (priority BETWEEN 1 AND 4),
        CONSTRAINT issues_event_count_check CHECK (event_count >= 0),
        CONSTRAINT issues_spawn_status_check CHECK (spawn_status IS NULL OR spawn_status IN
          ('queued','running','completed','failed','dry_run')),
        CONSTRAINT issues_cooldown_hours_check CHECK (cooldown_hours IS NULL OR cooldown_hours >= 0),
        CONSTRAINT issues_not_merged_into_self CHECK (merged_into_id IS NULL OR merged_into_id <> id)
      )`);
    await run(`CREATE INDEX issues_created_at_idx ON issues (created_at DESC, id DESC)`);
    await run(`CREATE INDEX issues_status_idx ON issues (status)`);
    await run(`CREATE INDEX issues_scope_idx ON issues (source, feature)`);

    // One row per fingerprint (or external id) an issue owns: its primary fingerprint, aliases
    // from merges, links from other trackers. Fingerprints never change; issue_id may (merges).
    await run(`
      CREATE TABLE external_issue_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source text NOT NULL,
        external_id text NOT NULL,
        issue_id uuid NOT NULL REFERENCES issues(id),
        original_issue_id uuid NOT NULL REFERENCES issues(id),
        link_kind text NOT NULL DEFAULT 'primary',
        scope_source text,
        scope_feature text,
        normalized_message text,
        token_count integer,
        grouping_rule text NOT NULL DEFAULT 'exact',
        grouping_evidence jsonb,
        event_count bigint NOT NULL DEFAULT 0,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        cooldown_until timestamptz,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT external_issue_links_source_external_id_key UNIQUE (source, external_id),
        CONSTRAINT external_issue_links_kind_check CHECK (link_kind IN ('primary','alias','manual','external')),
        CONSTRAINT external_issue_links_event_count_check CHECK (event_count >= 0)
      )`);
    await run(`CREATE INDEX external_issue_links_issue_idx ON external_issue_links (issue_id)`);
    await run(
      `CREATE INDEX external_issue_links_scope_idx ON external_issue_links (scope_source, scope_feature, token_count)`,
    );

    // Merges between issues, kept so a person can see the evidence and undo them.
    await run(`
      CREATE TABLE issue_merges (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        target_issue_id uuid NOT NULL REFERENCES issues(id),
        merged_issue_id uuid NOT NULL REFERENCES issues(id),
        rule text NOT NULL,
        evidence jsonb NOT NULL DEFAULT '{}'::jsonb,
        actor text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        undone_at timestamptz,
        undone_by text,
        CONSTRAINT issue_merges_distinct CHECK (target_issue_id <> merged_issue_id)
      )`);
    await run(`CREATE UNIQUE INDEX issue_merges_active_key ON issue_merges (merged_issue_id) WHERE undone_at IS NULL`);

    // Bounded samples per fingerprint; messages are stored after secret scrubbing.
    await run(`
      CREATE TABLE error_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        issue_id uuid NOT NULL REFERENCES issues(id),
        link_id uuid NOT NULL REFERENCES external_issue_links(id),
        fingerprint text NOT NULL,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        count integer NOT NULL DEFAULT 1,
        level text,
        version text,
        labels jsonb NOT NULL DEFAULT '{}'::jsonb,
        message text NOT NULL,
        stack text,
        ingest_kind text NOT NULL,
        CONSTRAINT error_events_count_check CHECK (count >= 1)
      )`);
    await run(`CREATE INDEX error_events_link_idx ON error_events (link_id, id DESC)`);
    await run(`CREATE INDEX error_events_issue_idx ON error_events (issue_id, occurred_at DESC)`);

    // Idempotency of ingest: a redelivered alert or push line is recognised by its key.
    await run(`
      CREATE TABLE ingest_deliveries (
        delivery_key text PRIMARY KEY,
        kind text NOT NULL,
        fingerprint text,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await run(`CREATE INDEX ingest_deliveries_received_idx ON ingest_deliveries (received_at)`);

    // Alerts that are recorded but never become issues (Grafana DatasourceNoData/Error) and
    // resolved notifications.
    await run(`
      CREATE TABLE alert_notices (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        status text NOT NULL,
        alertname text,
        fingerprint text,
        labels jsonb NOT NULL DEFAULT '{}'::jsonb,
        starts_at timestamptz,
        ends_at timestamptz,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Append-only audit trail of every change by a person, an agent or the system.
    await run(`
      CREATE TABLE issue_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        issue_id uuid NOT NULL REFERENCES issues(id),
        actor text NOT NULL,
        actor_type text NOT NULL,
        field text NOT NULL,
        from_value text,
        to_value text,
        reason text,
        data jsonb,
        correlation_id text,
        at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT issue_history_actor_type_check CHECK (actor_type IN ('user','agent','system'))
      )`);
    await run(`CREATE INDEX issue_history_issue_idx ON issue_history (issue_id, id)`);
    await run(`
      CREATE FUNCTION fixloop_forbid_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
      END $$`);
    await run(`
      CREATE TRIGGER issue_history_append_only BEFORE UPDATE OR DELETE ON issue_history
      FOR EACH ROW EXECUTE FUNCTION fixloop_forbid_mutation()`);

    await run(`
      CREATE TABLE agent_activity (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        issue_id uuid NOT NULL REFERENCES issues(id),
        spawn_request_id uuid,
        type text NOT NULL,
        message text NOT NULL,
        data jsonb,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await run(`CREATE INDEX agent_activity_issue_idx ON agent_activity (issue_id, id)`);

    await run(`
      CREATE TABLE issue_prs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        issue_id uuid NOT NULL REFERENCES issues(id),
        repo_owner text NOT NULL,
        repo_name text NOT NULL,
        pr_number integer NOT NULL,
        title text NOT NULL,
        body text,
        url text,
        head_branch text,
        base_branch text,
        head_sha text,
        state text NOT NULL DEFAULT 'open',
        merged_at timestamptz,
        merge_commit_sha text,
        match_method text NOT NULL,
        match_score double precision,
        match_evidence jsonb,
        attempt integer NOT NULL DEFAULT 1,
        embedding_model text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT issue_prs_issue_pr_key UNIQUE (issue_id, repo_owner, repo_name, pr_number),
        CONSTRAINT issue_prs_state_check CHECK (state IN ('open','closed','merged','reverted')),
        CONSTRAINT issue_prs_match_method_check CHECK (match_method IN ('identifier','semantic','llm','manual'))
      )`);
    await run(`CREATE INDEX issue_prs_pr_idx ON issue_prs (repo_owner, repo_name, pr_number)`);
    await run(`CREATE INDEX issue_prs_merge_sha_idx ON issue_prs (merge_commit_sha)`);

    // The spawn queue: durable rows, due at not_before, claimed with FOR UPDATE SKIP LOCKED.
    await run(`
      CREATE TABLE spawn_requests (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        issue_id uuid NOT NULL REFERENCES issues(id),
        state text NOT NULL DEFAULT 'queued',
        not_before timestamptz NOT NULL,
        attempt integer NOT NULL DEFAULT 1,
        dispatch_attempts integer NOT NULL DEFAULT 0,
        requested_by text NOT NULL,
        reason text,
        held_reason text,
        held_at timestamptz,
        budget_day date,
        run_name text,
        run_id text,
        run_url text,
        request_payload jsonb,
        context jsonb,
        summary text,
        error text,
        cost_usd numeric(12,4),
        dispatched_at timestamptz,
        started_at timestamptz,
        last_heartbeat_at timestamptz,
        finished_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT spawn_requests_state_check CHECK (state IN
          ('queued','dispatching','dispatched','running','completed','failed','cancelled','dry_run'))
      )`);
    await run(`
      CREATE UNIQUE INDEX spawn_requests_one_active_per_issue ON spawn_requests (issue_id)
      WHERE state IN ('queued','dispatching','dispatched','running')`);
    await run(`CREATE INDEX spawn_requests_due_idx ON spawn_requests (not_before) WHERE state = 'queued'`);
    await run(
      `CREATE UNIQUE INDEX spawn_requests_run_name_key ON spawn_requests (run_name) WHERE run_name IS NOT NULL`,
    );

    await run(`
      CREATE TABLE spawn_budget_days (
        day date PRIMARY KEY,
        spawn_count integer NOT NULL DEFAULT 0,
        max_spawns integer NOT NULL,
        cost_usd numeric(12,4) NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT spawn_budget_days_count_check CHECK (spawn_count >= 0),
        CONSTRAINT spawn_budget_days_max_check CHECK (max_spawns >= 0)
      )`);

    // Run-time switches (kill switch), persisted so every replica sees them.
    await run(`
      CREATE TABLE runtime_settings (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await run(`
      CREATE TABLE deployments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source text NOT NULL,
        external_id text NOT NULL,
        environment text NOT NULL,
        sha text,
        version text,
        pr_numbers integer[] NOT NULL DEFAULT '{}',
        deployed_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT deployments_source_external_id_key UNIQUE (source, external_id)
      )`);

    await run(`
      CREATE TABLE verification_windows (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        issue_id uuid NOT NULL REFERENCES issues(id),
        deployment_id uuid REFERENCES deployments(id),
        issue_pr_id uuid REFERENCES issue_prs(id),
        fingerprints text[] NOT NULL,
        source text NOT NULL,
        feature text NOT NULL,
        normalized_message text NOT NULL,
        deployed_at timestamptz NOT NULL,
        deployed_version text,
        deployed_sha text,
        ends_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'watching',
        recurrence_count integer NOT NULL DEFAULT 0,
        old_build_count integer NOT NULL DEFAULT 0,
        first_recurrence_at timestamptz,
        loki_checked_until timestamptz,
        last_checked_at timestamptz,
        decided_at timestamptz,
        decision_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT verification_windows_state_check CHECK (state IN ('watching','verified','failed','cancelled'))
      )`);
    await run(
      `CREATE UNIQUE INDEX verification_windows_one_open_per_issue ON verification_windows (issue_id) WHERE state = 'watching'`,
    );
    await run(`CREATE INDEX verification_windows_due_idx ON verification_windows (ends_at) WHERE state = 'watching'`);

    // Idempotency of GitHub (and later other) webhooks by delivery id.
    await run(`
      CREATE TABLE webhook_deliveries (
        provider text NOT NULL,
        delivery_id text NOT NULL,
        event text NOT NULL,
        action text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, delivery_id)
      )`);

    // Outbox for notifications that leave the process (Slack, signed webhooks): written in the
    // transaction that caused them, delivered by a worker.
    await run(`
      CREATE TABLE outbox_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_name text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        available_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        processed_at timestamptz
      )`);
    await run(`CREATE INDEX outbox_events_pending_idx ON outbox_events (available_at) WHERE processed_at IS NULL`);

    if (await tryEnableVector(run)) await addVectorColumns(run);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'outbox_events',
      'webhook_deliveries',
      'verification_windows',
      'deployments',
      'runtime_settings',
      'spawn_budget_days',
      'spawn_requests',
      'issue_prs',
      'agent_activity',
      'issue_history',
      'alert_notices',
      'ingest_deliveries',
      'error_events',
      'issue_merges',
      'external_issue_links',
      'issues',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query('DROP FUNCTION IF EXISTS fixloop_forbid_mutation()');
    await q.query('DROP SEQUENCE IF EXISTS issue_number_seq');
  }
}
