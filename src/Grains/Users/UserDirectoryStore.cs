using System.Data.Common;
using System.Globalization;
using System.Text;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Users;

/// <summary>The <c>users_directory</c> table behind <c>GET /v1/users</c>.</summary>
public sealed class UserDirectoryStore(Database database)
{
    private const string Columns = "id, email, username, first_name, last_name, avatar_url, role, plan, created_at, updated_at, email_verified, disabled";

    public async Task UpsertAsync(UserView user)
    {
        await using var command = database.CreateCommand($"""
            INSERT INTO users_directory ({Columns})
            VALUES (@id, @email, @username, @first_name, @last_name, @avatar_url, @role, @plan, @created_at, @updated_at, @email_verified, @disabled)
            ON CONFLICT (id) DO UPDATE SET email = excluded.email, username = excluded.username,
                first_name = excluded.first_name, last_name = excluded.last_name, avatar_url = excluded.avatar_url,
                role = excluded.role, plan = excluded.plan, updated_at = excluded.updated_at,
                email_verified = excluded.email_verified, disabled = excluded.disabled
            {database.Dialect.WhereChanged("users_directory", "email", "username", "first_name", "last_name", "avatar_url", "role", "plan",
                "updated_at", "email_verified", "disabled")}
            """);
        await command.With("id", user.Id).With("email", user.Email).With("username", user.Username)
            .With("first_name", user.Profile.FirstName).With("last_name", user.Profile.LastName).With("avatar_url", user.Profile.AvatarUrl)
            .With("role", user.Role).With("plan", user.Plan)
            .With("created_at", DbTime.Micros(user.CreatedAt)).With("updated_at", DbTime.Micros(user.UpdatedAt))
            .With("email_verified", user.EmailVerified).With("disabled", user.Disabled)
            .ExecuteNonQueryAsync();
    }

    /// <summary>
    /// One page, newest first, with the exact total. The directory is small next to resources (one row per person),
    /// so its total is counted per request.
    /// </summary>
    public async Task<(IReadOnlyList<UserView> Items, long Total)> QueryAsync(DirectoryQuery query)
    {
        await using var connection = await database.OpenConnectionAsync();
        var from = new StringBuilder("users_directory u");
        var where = new StringBuilder("1 = 1");
        var parameters = new List<(string, object?)>();
        if (query.CallerId is { } caller)
        {
            // Visibility is a join on memberships (primary key org_id, user_id; index user_id, org_id): the caller's
            // organizations, their members, and the caller; never a pass over every user.
            from.Append("""
                 JOIN (SELECT @caller AS user_id
                       UNION
                       SELECT peer.user_id FROM memberships mine JOIN memberships peer ON peer.org_id = mine.org_id
                       WHERE mine.user_id = @caller) visible ON visible.user_id = u.id
                """);
            parameters.Add(("caller", caller));
        }

        if (query.Search is { Length: > 0 } search)
        {
            // Case-insensitive substring of any one field (the search column joins them with a separator no search text
            // holds); the text is literal (LIKE wildcards escaped). PostgreSQL answers from a trigram index.
            where.Append(" AND u.search LIKE @q ESCAPE '\\'");
            var escaped = search.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
            parameters.Add(("q", "%" + escaped + "%"));
        }

        if (query.Role is { } role)
        {
            where.Append(" AND u.role = @role");
            parameters.Add(("role", role));
        }

        var items = new List<UserView>();
        await using (var command = connection.Command(
            $"SELECT {string.Join(", ", Columns.Split(", ").Select(c => "u." + c))} FROM {from} WHERE {where} ORDER BY u.created_at DESC, u.id DESC LIMIT @limit OFFSET @offset"))
        {
            foreach (var (name, value) in parameters)
            {
                command.With(name, value);
            }

            await using var reader = await command.With("limit", query.Limit).With("offset", query.Offset).ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                items.Add(new UserView(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    new UserProfile(NullableString(reader, 3), NullableString(reader, 4), NullableString(reader, 5)),
                    reader.GetString(6), reader.GetString(7), DbTime.FromMicros(reader.GetInt64(8)), DbTime.FromMicros(reader.GetInt64(9)),
                    reader.GetBoolean(10), reader.GetBoolean(11)));
            }
        }

        await using var count = connection.Command($"SELECT COUNT(*) FROM {from} WHERE {where}");
        foreach (var (name, value) in parameters)
        {
            count.With(name, value);
        }

        return (items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>The users the directory lists as administrators (their grains are the truth; this finds them).</summary>
    public async Task<IReadOnlyList<string>> AdministratorIdsAsync()
    {
        await using var command = database.CreateCommand("SELECT id FROM users_directory WHERE role = @role").With("role", SystemRoles.Admin);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>True when the two users are members of one organization.</summary>
    public async Task<bool> ShareAnOrganizationAsync(string userId, string otherId)
    {
        await using var command = database.CreateCommand("""
            SELECT 1 FROM memberships mine JOIN memberships peer ON peer.org_id = mine.org_id
            WHERE mine.user_id = @user_id AND peer.user_id = @other_id LIMIT 1
            """).With("user_id", userId).With("other_id", otherId);
        return await command.ExecuteScalarAsync() is not null;
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
