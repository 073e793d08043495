"""The profile database schema, grown by numbered migrations. Append, never edit."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("shieldrec")


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE profiles (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            about TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        CREATE TABLE preferences (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'avoid', 'block')),
            target TEXT NOT NULL CHECK (target IN ('topic', 'creator', 'item', 'source')),
            value TEXT NOT NULL,
            weight REAL NOT NULL DEFAULT 1.0,
            origin TEXT NOT NULL CHECK (origin IN ('stated', 'learned')),
            evidence TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        CREATE INDEX preferences_profile ON preferences(profile_id);
        CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            creator TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',
            sponsored INTEGER NOT NULL DEFAULT 0,
            meta TEXT NOT NULL DEFAULT '{}',
            platforms TEXT NOT NULL DEFAULT '[]',
            event TEXT NOT NULL,
            rating REAL,
            instruction TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL
        );
        CREATE INDEX history_profile_at ON history(profile_id, at);
        CREATE TABLE platforms (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            adapter TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL,
            UNIQUE (profile_id, name)
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER REFERENCES profiles(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            platform TEXT NOT NULL,
            method TEXT NOT NULL,
            url TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            bytes_out INTEGER NOT NULL DEFAULT 0,
            bytes_in INTEGER,
            status INTEGER,
            error TEXT,
            duration_ms REAL
        );
        CREATE INDEX audit_profile_at ON audit(profile_id, at);
        CREATE TABLE embeddings (
            model_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (model_id, content_hash)
        ) WITHOUT ROWID;
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            title TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'agent')),
            content TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            at REAL NOT NULL
        );
        CREATE INDEX messages_conversation ON messages(conversation_id, id);
        """
    )


@migrations(name="m002_keyed_embeddings")
def m002_keyed_embeddings(db: Database) -> None:
    # Entries were keyed by a plain sha256 of their text, which anyone holding the file could
    # test a guess against; under the new keys they could never be found again anyway.
    db.execute("DELETE FROM embeddings")
    db.execute(
        "CREATE TABLE embedding_owners ("
        " profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
        " model_id TEXT NOT NULL,"
        " content_hash TEXT NOT NULL,"
        " PRIMARY KEY (profile_id, model_id, content_hash)"
        ") WITHOUT ROWID"
    )
    db.execute("CREATE INDEX embedding_owners_entry ON embedding_owners(model_id, content_hash)")
    db.execute("CREATE TABLE store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations(name="m003_history_keys")
def m003_history_keys(db: Database) -> None:
    # What each feedback event is about (its tags and creator) and which way it counts, so that
    # learning from a like reads an index of the events about the same things, not the history.
    db.execute(
        "CREATE TABLE history_keys ("
        " event_id INTEGER NOT NULL REFERENCES history(id) ON DELETE CASCADE,"
        " profile_id INTEGER NOT NULL,"
        " target TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " item_id TEXT NOT NULL,"
        " at REAL NOT NULL,"
        " polarity INTEGER NOT NULL,"  # 1: the event counts for it, -1: against, 0: neither
        " PRIMARY KEY (event_id, target, value)"
        ") WITHOUT ROWID"
    )
    db.execute("CREATE INDEX history_keys_lookup ON history_keys(profile_id, target, value, item_id, at, polarity)")
    db.execute("ALTER TABLE history ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX history_unkeyed ON history(profile_id) WHERE keyed = 0")


@migrations(name="m005_watch_list")
def m005_watch_list(db: Database) -> None:
    """Items the user keeps for later: a snapshot of each, so the list outlives the platform's answer."""
    db.executescript(
        """
        CREATE TABLE watch_list (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            item TEXT NOT NULL,
            instruction TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL,
            UNIQUE (profile_id, item_id)
        );
        CREATE INDEX watch_list_profile ON watch_list(profile_id, added_at);
        """
    )


@migrations(name="m006_disputed_reasons")
def m006_disputed_reasons(db: Database) -> None:
    """Reasons the user marked as wrong, with the item and the request they were given for."""
    db.executescript(
        """
        CREATE TABLE disputed_reasons (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            title TEXT NOT NULL,
            reason TEXT NOT NULL,
            instruction TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL
        );
        CREATE INDEX disputed_reasons_profile ON disputed_reasons(profile_id, item_id);
        """
    )


@migrations(name="m008_service_calls")
def m008_service_calls(db: Database) -> None:
    # Every call to `shieldrec serve`, refused ones included: who called, what, how big, the answer.
    # Never a header's value (the token), never a body.
    db.executescript(
        """
        CREATE TABLE service_calls (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER REFERENCES profiles(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            caller TEXT NOT NULL,
            user_agent TEXT NOT NULL DEFAULT '',
            method TEXT NOT NULL,
            route TEXT NOT NULL,
            status INTEGER NOT NULL,
            bytes_in INTEGER NOT NULL DEFAULT 0,
            bytes_out INTEGER NOT NULL DEFAULT 0,
            items INTEGER,
            duration_ms REAL NOT NULL,
            refused TEXT
        );
        CREATE INDEX service_calls_at ON service_calls(at);
        """
    )


@migrations(name="m015_personal_models")
def m015_personal_models(db: Database) -> None:
    # The per-profile correction learned on top of the shipped ranker: its weights, the
    # feedback that fitted it (counted by kind, with the newest event it read) and how much it
    # counts. One row per profile; deleted with it.
    db.executescript(
        """
        CREATE TABLE personal_models (
            profile_id INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
            format INTEGER NOT NULL,
            prior TEXT NOT NULL,
            features TEXT NOT NULL,
            weights TEXT NOT NULL,
            bias REAL NOT NULL DEFAULT 0,
            events INTEGER NOT NULL,
            pairs INTEGER NOT NULL,
            taught_by TEXT NOT NULL DEFAULT '{}',
            newest_event INTEGER NOT NULL DEFAULT 0,
            blend REAL NOT NULL,
            held_out TEXT NOT NULL DEFAULT '{}',
            trained_at REAL NOT NULL,
            seconds REAL NOT NULL DEFAULT 0
        );
        """
    )


@migrations(name="m016_interest_facets")
def m016_interest_facets(db: Database) -> None:
    # Interest facets: clusters of liked (or disliked) items with a label from their text, a
    # strength that decays with time, and the items that make them. Rebuilt from the history.
    db.executescript(
        """
        CREATE TABLE interest_facets (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'avoid')),
            label TEXT NOT NULL,
            words TEXT NOT NULL DEFAULT '[]',
            strength REAL NOT NULL,
            last_at REAL NOT NULL,
            items TEXT NOT NULL DEFAULT '[]',
            centroid BLOB,
            built_at REAL NOT NULL,
            UNIQUE (profile_id, key)
        );
        CREATE INDEX interest_facets_profile ON interest_facets(profile_id, kind, strength);
        """
    )


@migrations(name="m017_facet_choices")
def m017_facet_choices(db: Database) -> None:
    # What the user decided about a facet (pinned: always kept and weighed fully; deleted: never
    # shown or used again), by the facet's key, so a rebuild keeps the decision.
    db.executescript(
        """
        CREATE TABLE facet_choices (
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('pinned', 'deleted')),
            label TEXT NOT NULL DEFAULT '',
            at REAL NOT NULL,
            PRIMARY KEY (profile_id, key)
        ) WITHOUT ROWID;
        """
    )


@migrations(name="m018_impressions")
def m018_impressions(db: Database) -> None:
    # The lists the user was shown (ids in the order shown, the request): what lets the learner
    # read an item shown above a liked one and passed over as a weak "no".
    db.executescript(
        """
        CREATE TABLE impressions (
            id INTEGER PRIMARY KEY,
            profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            instruction TEXT NOT NULL DEFAULT '',
            items TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX impressions_profile_at ON impressions(profile_id, at);
        """
    )


@migrations(name="m019_learning_since")
def m019_learning_since(db: Database) -> None:
    # When the user last reset what was learned: feedback before it teaches nothing any more
    # (the history itself stays, as the user's record and as context for rankings).
    db.execute(
        "CREATE TABLE learning_since ("
        " profile_id INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,"
        " at REAL NOT NULL)"
    )
