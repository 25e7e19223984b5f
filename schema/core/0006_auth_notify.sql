-- schema/core/0006_auth_notify.sql — tell every worker when what a token
-- stands for changes.
--
-- Workers keep recently checked tokens in memory (core/auth_cache.c) and
-- LISTEN on onegrid_auth; any committed change to the rows the token query
-- reads sends one notification, and every listening worker forgets its
-- cached tokens.  The triggers are here, not in the routes, so that changes
-- made anywhere are seen: a second onegridd on the same database,
-- `onegridd create-admin`, SQL typed by a DBA.  NOTIFY is transactional (sent
-- at commit, never for a rollback) and one per transaction however many rows
-- changed.  New tokens (login) need no notification: nothing cached them.

CREATE FUNCTION core.notify_auth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('onegrid_auth', '');
	RETURN NULL;
END;
$$;

CREATE TRIGGER token_notify_auth AFTER UPDATE OR DELETE OR TRUNCATE ON core.token
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
CREATE TRIGGER app_user_notify_auth AFTER UPDATE OR DELETE OR TRUNCATE ON core.app_user
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
CREATE TRIGGER role_permission_notify_auth
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON core.role_permission
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
-- The admin role holds every permission code there is.
CREATE TRIGGER permission_notify_auth
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON core.permission
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
CREATE TRIGGER plugin_enablement_notify_auth
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON core.plugin_enablement
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
-- A user's scope path and district come from the region tree.
CREATE TRIGGER region_notify_auth AFTER UPDATE OR DELETE OR TRUNCATE ON core.region
	FOR EACH STATEMENT EXECUTE FUNCTION core.notify_auth();
