using System.Data.Common;
using System.Globalization;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Organizations;

/// <summary>An organization row.</summary>
public sealed record OrganizationRow(string Id, string Name, string Slug, string Plan, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// The <c>organizations</c> and <c>memberships</c> tables: the state of <see cref="OrganizationGrain"/>, each change
/// one transaction with the events it publishes (written to the event log), and the queries that cross
/// organizations (a user's organizations, who shares one with whom).
/// </summary>
public sealed class OrganizationStore(Database database, EventLog events)
{
    public async Task<(OrganizationRow Organization, List<MemberView> Members)?> LoadAsync(string id)
    {
        await using var connection = await database.OpenConnectionAsync();
        OrganizationRow? organization;
        await using (var command = connection.Command("SELECT id, name, slug, plan, created_at, updated_at FROM organizations WHERE id = @id").With("id", id))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            organization = await reader.ReadAsync() ? ReadOrganization(reader, 0) : null;
        }

        if (organization is null)
        {
            return null;
        }

        var members = new List<MemberView>();
        await using (var command = connection.Command("SELECT user_id, role, joined_at FROM memberships WHERE org_id = @id ORDER BY joined_at, user_id").With("id", id))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                members.Add(new MemberView(reader.GetString(0), reader.GetString(1), DbTime.FromMicros(reader.GetInt64(2))));
            }
        }

        return (organization, members);
    }

    /// <summary>
    /// Inserts the organization with its first owner, unless that user already owns <paramref name="maxOwned"/>
    /// organizations (false). The count and the insert are one transaction, serialized per user (an advisory lock on
    /// PostgreSQL, SQLite's single writer), so concurrent creates cannot pass the cap.
    /// </summary>
    public async Task<bool> InsertAsync(OrganizationRow organization, MemberView owner, int maxOwned, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (connection is Npgsql.NpgsqlConnection)
        {
            await using var @lock = connection.Command("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", transaction)
                .With("key", "owned-organizations:" + owner.UserId);
            await @lock.ExecuteNonQueryAsync();
        }

        if (await CountOwnedAsync(connection, transaction, owner.UserId) >= maxOwned)
        {
            return false;
        }

        await using (var command = connection.Command("""
            INSERT INTO organizations (id, name, slug, plan, created_at, updated_at, version)
            VALUES (@id, @name, @slug, @plan, @created_at, @updated_at, 1)
            """, transaction))
        {
            await Bind(command, organization).ExecuteNonQueryAsync();
        }

        await using (var command = InsertMember(connection, transaction, organization.Id, owner))
        {
            await command.ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
        return true;
    }

    /// <summary>How many organizations the user owns: what <c>MaxOrganizations</c> caps and <c>/v1/usage</c> reports.</summary>
    public async Task<long> CountOwnedAsync(string userId)
    {
        await using var connection = await database.OpenConnectionAsync();
        return await CountOwnedAsync(connection, null, userId);
    }

    private static async Task<long> CountOwnedAsync(DbConnection connection, DbTransaction? transaction, string userId)
    {
        await using var count = connection.Command("SELECT COUNT(*) FROM memberships WHERE user_id = @user_id AND role = 'owner'", transaction)
            .With("user_id", userId);
        return Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task UpdateAsync(OrganizationRow organization, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command(
            "UPDATE organizations SET name = @name, slug = @slug, plan = @plan, updated_at = @updated_at, version = version + 1 WHERE id = @id", transaction))
        {
            await Bind(command, organization).ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
    }

    public async Task AddMemberAsync(string orgId, MemberView member, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = InsertMember(connection, transaction, orgId, member))
        {
            await command.ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
    }

    public async Task SetRoleAsync(string orgId, string userId, string role, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command("UPDATE memberships SET role = @role WHERE org_id = @org_id AND user_id = @user_id", transaction))
        {
            await command.With("role", role).With("org_id", orgId).With("user_id", userId).ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
    }

    public async Task RemoveMemberAsync(string orgId, string userId, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command("DELETE FROM memberships WHERE org_id = @org_id AND user_id = @user_id", transaction))
        {
            await command.With("org_id", orgId).With("user_id", userId).ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
    }

    /// <summary>
    /// Deletes the organization, its memberships, and everything it owns in the project's tables (resources, their
    /// counters and types, idempotency records) in one transaction: nothing of it stays reachable. <paramref name="deleted"/>
    /// is the last event of its log; its webhooks are disabled in the same transaction but still receive the
    /// organization's events up to that one (once each), and every retry pending now stops.
    /// </summary>
    public async Task DeleteAsync(string orgId, NewEvent deleted)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var (written, _) = await events.WriteLastAsync(connection, transaction, deleted);

        foreach (var sql in new[]
        {
            "DELETE FROM memberships WHERE org_id = @id",
            "DELETE FROM invitations WHERE org_id = @id",
            "DELETE FROM resources WHERE owner_id = @id",
            "DELETE FROM resource_counts WHERE owner_id = @id",
            "DELETE FROM resource_types WHERE owner_id = @id",
            "DELETE FROM resource_index_counts WHERE owner_id = @id",
            "DELETE FROM idempotency_keys WHERE owner_id = @id",
            "DELETE FROM organizations WHERE id = @id",
        })
        {
            await using var command = connection.Command(sql, transaction).With("id", orgId);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        events.Published(written);
    }

    /// <summary>
    /// After <see cref="DeleteAsync"/> committed: the organization's subscriptions (its webhooks, disabled in that
    /// transaction) drop the retries they hold in memory. Idempotent.
    /// </summary>
    public Task ClosedAsync(IGrainFactory grains, string orgId) => events.OwnerClosedAsync(grains, orgId);

    /// <summary>The organizations a user belongs to, newest first, with the user's role and the exact total.</summary>
    public async Task<(IReadOnlyList<UserOrganization> Items, long Total)> ListForUserAsync(string userId, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
        var items = new List<UserOrganization>();
        await using (var command = connection.Command("""
            SELECT o.id, o.name, o.slug, o.plan, o.created_at, o.updated_at, m.role,
                   (SELECT COUNT(*) FROM memberships c WHERE c.org_id = o.id)
            FROM memberships m JOIN organizations o ON o.id = m.org_id
            WHERE m.user_id = @user_id
            ORDER BY o.created_at DESC, o.id DESC
            LIMIT @limit OFFSET @offset
            """).With("user_id", userId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var o = ReadOrganization(reader, 0);
                items.Add(new UserOrganization(new OrganizationView(o.Id, o.Name, o.Slug, o.Plan, Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture), o.CreatedAt, o.UpdatedAt), reader.GetString(6)));
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM memberships WHERE user_id = @user_id").With("user_id", userId);
        return (items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    private const string InvitationColumns =
        "id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at, secret_hash";

    /// <summary>An invitation row with its secret's hash.</summary>
    public sealed record InvitationRow(InvitationView View, DateTimeOffset? RevokedAt, string SecretHash);

    public async Task InsertInvitationAsync(InvitationView invitation, string secretHash)
    {
        await using var command = database.CreateCommand($"""
            INSERT INTO invitations ({InvitationColumns}, email_normalized)
            VALUES (@id, @org_id, @email, @role, @invited_by, @created_at, @expires_at, NULL, NULL, @secret_hash, @email_normalized)
            """);
        await command.With("id", invitation.Id).With("org_id", invitation.OrganizationId).With("email", invitation.Email)
            .With("role", invitation.Role).With("invited_by", invitation.InvitedBy)
            .With("created_at", DbTime.Micros(invitation.CreatedAt)).With("expires_at", DbTime.Micros(invitation.ExpiresAt))
            .With("secret_hash", secretHash).With("email_normalized", invitation.Email.ToLowerInvariant())
            .ExecuteNonQueryAsync();
    }

    public async Task<InvitationRow?> LoadInvitationAsync(string orgId, string id, DateTimeOffset now)
    {
        await using var command = database.CreateCommand($"SELECT {InvitationColumns} FROM invitations WHERE id = @id AND org_id = @org_id")
            .With("id", id).With("org_id", orgId);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadInvitation(reader, now) : null;
    }

    /// <summary>Pending (neither accepted, revoked nor expired) invitations of the organization for an email, and in all.</summary>
    public async Task<(long ForEmail, long All)> CountPendingInvitationsAsync(string orgId, string email, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            SELECT COALESCE(SUM(CASE WHEN email_normalized = @email THEN 1 ELSE 0 END), 0), COUNT(*)
            FROM invitations WHERE org_id = @org_id AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > @now
            """).With("org_id", orgId).With("email", email.ToLowerInvariant()).With("now", DbTime.Micros(now));
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    public async Task<InvitationPage> ListInvitationsAsync(string orgId, int offset, int limit, DateTimeOffset now)
    {
        await using var connection = await database.OpenConnectionAsync();
        var items = new List<InvitationView>();
        await using (var command = connection.Command(
            $"SELECT {InvitationColumns} FROM invitations WHERE org_id = @org_id ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset")
            .With("org_id", orgId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(ReadInvitation(reader, now).View);
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM invitations WHERE org_id = @org_id").With("org_id", orgId);
        return new InvitationPage(items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    public async Task RevokeInvitationAsync(string id, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("UPDATE invitations SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL AND accepted_at IS NULL")
            .With("id", id).With("now", DbTime.Micros(now));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Adds the member and marks the invitation accepted, in one transaction with the membership event.</summary>
    public async Task AcceptInvitationAsync(string orgId, string invitationId, MemberView member, params IReadOnlyList<NewEvent> changes)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = InsertMember(connection, transaction, orgId, member))
        {
            await command.ExecuteNonQueryAsync();
        }

        await using (var command = connection.Command(
            "UPDATE invitations SET accepted_at = @now, accepted_by = @user_id WHERE id = @id", transaction)
            .With("now", DbTime.Micros(member.JoinedAt)).With("user_id", member.UserId).With("id", invitationId))
        {
            await command.ExecuteNonQueryAsync();
        }

        await events.CommitAsync(connection, transaction, changes);
    }

    /// <summary>Deletes invitations accepted, revoked or expired before <paramref name="cutoff"/>.</summary>
    public async Task<int> PurgeInvitationsAsync(DateTimeOffset cutoff)
    {
        await using var command = database.CreateCommand(
            "DELETE FROM invitations WHERE accepted_at < @cutoff OR revoked_at < @cutoff OR expires_at < @cutoff")
            .With("cutoff", DbTime.Micros(cutoff));
        return await command.ExecuteNonQueryAsync();
    }

    private static InvitationRow ReadInvitation(DbDataReader r, DateTimeOffset now)
    {
        var expiresAt = DbTime.FromMicros(r.GetInt64(6));
        DateTimeOffset? acceptedAt = r.IsDBNull(7) ? null : DbTime.FromMicros(r.GetInt64(7));
        DateTimeOffset? revokedAt = r.IsDBNull(8) ? null : DbTime.FromMicros(r.GetInt64(8));
        var status = acceptedAt is not null ? InvitationStates.Accepted
            : revokedAt is not null ? InvitationStates.Revoked
            : now >= expiresAt ? InvitationStates.Expired
            : InvitationStates.Pending;
        return new InvitationRow(
            new InvitationView(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), status,
                DbTime.FromMicros(r.GetInt64(5)), expiresAt, acceptedAt),
            revokedAt, r.GetString(9));
    }

    private static DbCommand InsertMember(DbConnection connection, DbTransaction? transaction, string orgId, MemberView member) =>
        connection.Command("INSERT INTO memberships (org_id, user_id, role, joined_at) VALUES (@org_id, @user_id, @role, @joined_at)", transaction)
            .With("org_id", orgId).With("user_id", member.UserId).With("role", member.Role).With("joined_at", DbTime.Micros(member.JoinedAt));

    private static DbCommand Bind(DbCommand command, OrganizationRow o) =>
        command.With("id", o.Id).With("name", o.Name).With("slug", o.Slug).With("plan", o.Plan)
            .With("created_at", DbTime.Micros(o.CreatedAt)).With("updated_at", DbTime.Micros(o.UpdatedAt));

    private static OrganizationRow ReadOrganization(DbDataReader reader, int at) => new(
        reader.GetString(at), reader.GetString(at + 1), reader.GetString(at + 2), reader.GetString(at + 3),
        DbTime.FromMicros(reader.GetInt64(at + 4)), DbTime.FromMicros(reader.GetInt64(at + 5)));
}
