import type { Migration } from './database.js';

/**
 * The schema, one numbered step at a time. Never edit a step that has shipped: add a
 * new one. SQL stays portable (TEXT ids, ISO-8601 times) so that a PostgreSQL store can
 * take the same shape.
 */
export const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE orgs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('operator', 'customer')),
        mfa_required INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        password_hash TEXT,
        platform_role TEXT CHECK (platform_role IN ('platform-admin', 'platform-support', 'auditor')),
        totp_secret TEXT,
        totp_enabled INTEGER NOT NULL DEFAULT 0,
        totp_last_step INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        must_change_password INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE TABLE org_members (
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('org-admin', 'member')),
        created_at TEXT NOT NULL,
        PRIMARY KEY (org_id, user_id)
      );
      CREATE INDEX org_members_by_user ON org_members (user_id);
      CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        UNIQUE (org_id, name)
      );
      CREATE TABLE workspace_members (
        workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('workspace-admin', 'collaborator-rw', 'collaborator-ro')),
        created_at TEXT NOT NULL,
        PRIMARY KEY (workspace_id, user_id)
      );
      CREATE INDEX workspace_members_by_user ON workspace_members (user_id);
      CREATE TABLE support_grants (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        granted_by TEXT NOT NULL REFERENCES users(id),
        expires_at TEXT NOT NULL,
        revoked_at TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX support_grants_by_user ON support_grants (user_id);
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        mfa_verified INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_by_user ON sessions (user_id);
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
      );
      CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
    `),
  // OIDC login: users an identity provider vouches for are linked by (issuer, subject), which
  // the IdP never reassigns, rather than by email; pending logins hold the PKCE verifier, state
  // and nonce server-side until the browser comes back.
  (db) =>
    db.exec(`
      ALTER TABLE users ADD COLUMN idp_issuer TEXT;
      ALTER TABLE users ADD COLUMN idp_subject TEXT;
      CREATE UNIQUE INDEX users_by_idp_subject ON users (idp_issuer, idp_subject) WHERE idp_subject IS NOT NULL;
      CREATE TABLE oidc_logins (
        key_hash TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        nonce TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX oidc_logins_by_expiry ON oidc_logins (expires_at);
    `),
  // Vault, audit and secrets. Audit records and checkpoints are append-only at the lowest
  // level too: triggers abort any UPDATE or DELETE, whoever issues it.
  (db) =>
    db.exec(`
      CREATE TABLE audit_records (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        actor_type TEXT NOT NULL,
        actor_id TEXT,
        org_id TEXT,
        workspace_id TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        source_ip TEXT,
        user_agent TEXT,
        request_id TEXT,
        params_digest TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        leaf_hash TEXT NOT NULL
      );
      CREATE INDEX audit_records_by_org ON audit_records (org_id, seq);
      CREATE INDEX audit_records_by_actor ON audit_records (actor_id, seq);
      CREATE TRIGGER audit_records_append_only_update BEFORE UPDATE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
      CREATE TRIGGER audit_records_append_only_delete BEFORE DELETE ON audit_records
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
      CREATE TABLE audit_checkpoints (
        tree_size INTEGER PRIMARY KEY,
        root_hash TEXT NOT NULL,
        time TEXT NOT NULL,
        note TEXT NOT NULL
      );
      CREATE TRIGGER audit_checkpoints_append_only_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
      CREATE TRIGGER audit_checkpoints_append_only_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
      CREATE TABLE audit_forwarders (
        name TEXT PRIMARY KEY,
        delivered_seq INTEGER NOT NULL
      );
      CREATE TABLE secrets (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        value TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (org_id, name)
      );
    `),
  // Idempotency keys on creates: the answer to the first request with a key, kept (encrypted)
  // for a day so that a retry gets it again instead of creating twice.
  (db) =>
    db.exec(`
      CREATE TABLE idempotency_keys (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_hash TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
        status INTEGER,
        response TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (user_id, key_hash)
      );
      CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
    `),
  // Lists page by id within an org: an index in that order spares a sort per page.
  (db) => db.exec('CREATE INDEX workspaces_by_org_and_id ON workspaces (org_id, id)'),
  // The catalog: compute and service profiles, each an append-only list of versions (running
  // instances keep theirs), published to every org or to the orgs listed.
  (db) =>
    db.exec(`
      CREATE TABLE catalog_profiles (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('compute', 'service')),
        slug TEXT NOT NULL,
        latest_version INTEGER NOT NULL,
        published TEXT NOT NULL DEFAULT 'none' CHECK (published IN ('none', 'all', 'orgs')),
        created_by TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (kind, slug)
      );
      CREATE TABLE catalog_profile_versions (
        profile_id TEXT NOT NULL REFERENCES catalog_profiles(id) ON DELETE CASCADE,
        version INTEGER NOT NULL CHECK (version >= 1),
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, version)
      );
      CREATE TRIGGER catalog_profile_versions_immutable BEFORE UPDATE ON catalog_profile_versions
        BEGIN SELECT RAISE(ABORT, 'profile versions are immutable'); END;
      CREATE TABLE catalog_publication_orgs (
        profile_id TEXT NOT NULL REFERENCES catalog_profiles(id) ON DELETE CASCADE,
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        PRIMARY KEY (profile_id, org_id)
      );
      CREATE INDEX catalog_publication_orgs_by_org ON catalog_publication_orgs (org_id, profile_id);
    `),
  // INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers: refuse
  // any insert over an existing audit record or checkpoint too.
  (db) =>
    db.exec(`
      CREATE TRIGGER audit_records_append_only_replace BEFORE INSERT ON audit_records
        WHEN EXISTS (SELECT 1 FROM audit_records WHERE seq = NEW.seq)
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
      CREATE TRIGGER audit_checkpoints_append_only_replace BEFORE INSERT ON audit_checkpoints
        WHEN EXISTS (SELECT 1 FROM audit_checkpoints WHERE tree_size = NEW.tree_size)
        BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
    `),
  // Compute instances and the engine that makes them real: desired state, every phase
  // transition with its time (billing reads them; `audited` is the outbox for the audit log),
  // events, per-instance collaborators, the resources each live instance holds (quotas and
  // capacity count them), capacity pools, quotas, and a durable work queue with leases.
  // Instances keep their org and workspace ids without foreign keys: a deleted instance stays
  // as billing history after its workspace is gone (tenancy refuses to delete live ones).
  (db) =>
    db.exec(`
      CREATE TABLE compute_instances (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        profile_id TEXT NOT NULL REFERENCES catalog_profiles(id),
        profile_version INTEGER NOT NULL,
        flavor TEXT NOT NULL,
        desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped', 'deleted')),
        phase TEXT NOT NULL CHECK (phase IN ('Pending', 'Provisioning', 'Ready', 'Stopping', 'Stopped',
          'Starting', 'Deleting', 'Deleted', 'Failed')),
        reason TEXT,
        conditions TEXT NOT NULL DEFAULT '[]',
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT,
        FOREIGN KEY (profile_id, profile_version) REFERENCES catalog_profile_versions(profile_id, version)
      );
      CREATE UNIQUE INDEX compute_instances_live_name ON compute_instances (workspace_id, name) WHERE phase <> 'Deleted';
      CREATE INDEX compute_instances_by_workspace ON compute_instances (org_id, workspace_id, id);
      CREATE TABLE instance_transitions (
        instance_id TEXT NOT NULL REFERENCES compute_instances(id),
        seq INTEGER NOT NULL,
        from_phase TEXT,
        to_phase TEXT NOT NULL,
        reason TEXT,
        at TEXT NOT NULL,
        audited INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (instance_id, seq)
      );
      CREATE INDEX instance_transitions_unaudited ON instance_transitions (audited) WHERE audited = 0;
      CREATE TRIGGER instance_transitions_append_only BEFORE DELETE ON instance_transitions
        BEGIN SELECT RAISE(ABORT, 'instance transitions are billing records: append-only'); END;
      CREATE TABLE instance_events (
        instance_id TEXT NOT NULL REFERENCES compute_instances(id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('Normal', 'Warning')),
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (instance_id, seq)
      );
      CREATE TABLE instance_collaborators (
        instance_id TEXT NOT NULL REFERENCES compute_instances(id),
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        access TEXT NOT NULL CHECK (access IN ('read-write', 'read-only')),
        added_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (instance_id, user_id)
      );
      CREATE INDEX instance_collaborators_by_user ON instance_collaborators (user_id, instance_id);
      CREATE TABLE instance_holdings (
        instance_id TEXT NOT NULL REFERENCES compute_instances(id),
        org_id TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        resource TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        PRIMARY KEY (instance_id, resource)
      );
      CREATE INDEX instance_holdings_by_resource ON instance_holdings (resource, amount);
      CREATE INDEX instance_holdings_by_org ON instance_holdings (org_id, resource, amount);
      CREATE INDEX instance_holdings_by_workspace ON instance_holdings (workspace_id, resource, amount);
      CREATE TABLE capacity_pools (
        resource TEXT PRIMARY KEY,
        total INTEGER NOT NULL CHECK (total >= 0),
        updated_at TEXT NOT NULL
      );
      CREATE TABLE quotas (
        scope_kind TEXT NOT NULL CHECK (scope_kind IN ('org', 'workspace')),
        scope_id TEXT NOT NULL,
        org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        resource TEXT NOT NULL,
        max INTEGER NOT NULL CHECK (max >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (scope_kind, scope_id, resource)
      );
      CREATE TABLE work_queue (
        item TEXT PRIMARY KEY,
        due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        ticket INTEGER NOT NULL DEFAULT 1,
        lease_owner TEXT,
        lease_until INTEGER,
        last_error TEXT
      );
      CREATE INDEX work_queue_by_due ON work_queue (due_at);
    `),
  // The hardware BCM reports: nodes with their place in the fabric (scalable unit, rack, rail
  // leaves), status and GPUs; a bare-metal instance claims whole nodes (claimed_by), and a node
  // whose provisioning failed waits in maintenance for the operator.
  (db) =>
    db.exec(`
      CREATE TABLE inventory_nodes (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        unit TEXT NOT NULL,
        rack TEXT NOT NULL DEFAULT '',
        rack_position INTEGER,
        category TEXT NOT NULL DEFAULT '',
        software_image TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        power TEXT NOT NULL DEFAULT 'UNKNOWN',
        cpu_cores INTEGER NOT NULL DEFAULT 0,
        memory_mib INTEGER NOT NULL DEFAULT 0,
        gpu_model TEXT,
        gpu_count INTEGER NOT NULL DEFAULT 0,
        rails TEXT NOT NULL DEFAULT '[]',
        present INTEGER NOT NULL DEFAULT 1,
        claimed_by TEXT,
        claimed_at TEXT,
        provision_started_at TEXT,
        wipe_started_at TEXT,
        maintenance TEXT,
        revision TEXT,
        synced_at TEXT NOT NULL
      );
      CREATE INDEX inventory_nodes_by_model ON inventory_nodes (gpu_model, unit, hostname);
      CREATE INDEX inventory_nodes_by_claim ON inventory_nodes (claimed_by) WHERE claimed_by IS NOT NULL;
      CREATE TABLE inventory_gpus (
        id TEXT PRIMARY KEY,
        node_id TEXT NOT NULL REFERENCES inventory_nodes(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        model TEXT NOT NULL,
        memory_mib INTEGER NOT NULL,
        pci_bus_id TEXT,
        serial TEXT,
        mig_mode TEXT NOT NULL
      );
      CREATE INDEX inventory_gpus_by_node ON inventory_gpus (node_id, idx);
    `),
];
