using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.GrainTests;

public sealed class ApiKeyGrainTests(ClusterFixture fixture)
{
    private (string Id, IApiKeyGrain Grain) NewKey()
    {
        var id = Ids.New(Ids.ApiKey);
        return (id, fixture.Grains.GetGrain<IApiKeyGrain>(id));
    }

    private static NewApiKey Request(DateTimeOffset? expiresAt = null) =>
        new("usr_owner", "usr_creator", "ci key", "pro", [ApiKeyScopes.Read], expiresAt);

    /// <summary>
    /// A time as the key keeps it: whole microseconds, as the database does. Other tests leave the shared fake clock
    /// between microseconds.
    /// </summary>
    private static DateTimeOffset Stored(DateTimeOffset time) => new(time.Ticks - (time.Ticks % 10), time.Offset);

    [Fact]
    public async Task Create_returns_a_secret_that_names_the_key()
    {
        var (id, key) = NewKey();
        var now = Stored(fixture.Time.GetUtcNow());

        var created = await key.CreateAsync(Request());

        Assert.NotNull(created);
        Assert.True(ApiKeyTokens.LooksLikeApiKey(created.Secret));
        Assert.True(ApiKeyTokens.TryParse(created.Secret, out var parsedId, out var secretPart));
        Assert.Equal(id, parsedId);
        Assert.Equal(ApiKeyTokens.SecretLength, secretPart.Length);

        var view = created.Key;
        Assert.Equal(id, view.Id);
        Assert.Equal("usr_owner", view.OwnerId);
        Assert.Equal("usr_creator", view.CreatedBy);
        Assert.Equal("ci key", view.Name);
        Assert.Equal("pro", view.Plan);
        Assert.Equal([ApiKeyScopes.Read], view.Scopes);
        Assert.Equal(ApiKeyTokens.Prefix, view.Prefix);
        Assert.Equal(created.Secret[^4..], view.LastFour);
        Assert.Equal(ApiKeyStatus.Active, view.Status);
        Assert.Equal(now, view.CreatedAt);
        Assert.Null(view.RolledAt);
        Assert.Null(view.RevokedAt);
        Assert.Equivalent(view, await key.GetAsync(), strict: true);
    }

    [Fact]
    public async Task Verify_accepts_the_secret_with_owner_plan_and_scopes()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request());

        var check = await key.VerifyAsync(created!.Secret, null);

        Assert.Equal(ApiKeyCheckStatus.Valid, check.Status);
        Assert.Equal("usr_owner", check.OwnerId);
        Assert.Equal("pro", check.Plan);
        Assert.Equal([ApiKeyScopes.Read], check.Scopes);
    }

    [Fact]
    public async Task Verify_refuses_a_wrong_secret_as_unknown()
    {
        var (id, key) = NewKey();
        var created = await key.CreateAsync(Request());

        string[] wrong = [ApiKeyTokens.Create(id, Ids.RandomToken(ApiKeyTokens.SecretLength)), created!.Secret + "x", "", "garbage"];
        foreach (var secret in wrong)
        {
            var check = await key.VerifyAsync(secret, null);
            Assert.Equal(ApiKeyCheckStatus.Unknown, check.Status);
            Assert.Null(check.OwnerId);
            Assert.Null(check.Plan);
            Assert.Empty(check.Scopes);
        }
    }

    [Fact]
    public async Task Missing_key_is_missing_everywhere()
    {
        var (id, key) = NewKey();

        Assert.Null(await key.GetAsync());
        Assert.Equal(ApiKeyCheckStatus.Missing, (await key.VerifyAsync(ApiKeyTokens.Create(id, "secret"), null)).Status);
        Assert.Null(await key.RevokeAsync());
        var roll = await key.RollAsync();
        Assert.Equal(ApiKeyRollStatus.NotFound, roll.Status);
        Assert.Null(roll.Key);
    }

    [Fact]
    public async Task Second_create_on_the_same_id_is_refused()
    {
        var (_, key) = NewKey();
        var first = await key.CreateAsync(Request());

        var second = await key.CreateAsync(Request() with { OwnerId = "usr_mallory" });

        Assert.Null(second);
        Assert.Equal("usr_owner", (await key.GetAsync())!.OwnerId);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(first!.Secret, null)).Status);
    }

    [Fact]
    public async Task Revoked_key_verifies_as_revoked()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request());
        var revokedAt = Stored(fixture.Time.GetUtcNow());

        var view = await key.RevokeAsync();

        Assert.NotNull(view);
        Assert.Equal(ApiKeyStatus.Revoked, view.Status);
        Assert.Equal(revokedAt, view.RevokedAt);
        var check = await key.VerifyAsync(created!.Secret, null);
        Assert.Equal(ApiKeyCheckStatus.Revoked, check.Status);
        Assert.Null(check.OwnerId);

        // Idempotent: a second revoke keeps the first time.
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(revokedAt, (await key.RevokeAsync())!.RevokedAt);
    }

    [Fact]
    public async Task Key_expires_at_its_expiry()
    {
        var (_, key) = NewKey();
        var expiresAt = fixture.Time.GetUtcNow().AddDays(1);
        var created = await key.CreateAsync(Request(expiresAt));
        Assert.Equal(expiresAt, created!.Key.ExpiresAt);

        fixture.Time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(created.Secret, null)).Status);
        Assert.Equal(ApiKeyStatus.Active, (await key.GetAsync())!.Status);

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var check = await key.VerifyAsync(created.Secret, null);
        Assert.Equal(ApiKeyCheckStatus.Expired, check.Status);
        Assert.Null(check.OwnerId);
        Assert.Equal(ApiKeyStatus.Expired, (await key.GetAsync())!.Status);
    }

    [Fact]
    public async Task Revoked_outranks_expired()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request(fixture.Time.GetUtcNow().AddMinutes(1)));
        await key.RevokeAsync();

        fixture.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(created!.Secret, null)).Status);
        Assert.Equal(ApiKeyStatus.Revoked, (await key.GetAsync())!.Status);
    }

    [Fact]
    public async Task Roll_replaces_the_secret()
    {
        var (id, key) = NewKey();
        var created = await key.CreateAsync(Request());
        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        var rolledAt = Stored(fixture.Time.GetUtcNow());

        var outcome = await key.RollAsync();

        Assert.Equal(ApiKeyRollStatus.Rolled, outcome.Status);
        var rolled = outcome.Key!;
        Assert.NotEqual(created!.Secret, rolled.Secret);
        Assert.True(ApiKeyTokens.TryParse(rolled.Secret, out var parsedId, out _));
        Assert.Equal(id, parsedId);
        Assert.Equal(rolledAt, rolled.Key.RolledAt);
        Assert.Equal(created.Key.CreatedAt, rolled.Key.CreatedAt);
        Assert.Equal(rolled.Secret[^4..], rolled.Key.LastFour);
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await key.VerifyAsync(created.Secret, null)).Status);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(rolled.Secret, null)).Status);
        Assert.Equal(rolledAt, (await key.GetAsync())!.RolledAt);
    }

    [Fact]
    public async Task Revoked_key_cannot_be_rolled()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request());
        await key.RevokeAsync();

        var outcome = await key.RollAsync();

        Assert.Equal(ApiKeyRollStatus.Revoked, outcome.Status);
        Assert.Null(outcome.Key);
        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(created!.Secret, null)).Status);
    }

    [Fact]
    public async Task Key_state_survives_deactivation()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request(fixture.Time.GetUtcNow().AddDays(30)));
        var rolled = (await key.RollAsync()).Key!;
        var before = await key.GetAsync();

        await fixture.DeactivateAsync(key);

        Assert.Equivalent(before, await key.GetAsync(), strict: true);
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await key.VerifyAsync(created!.Secret, null)).Status);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(rolled.Secret, null)).Status);
        Assert.Null(await key.CreateAsync(Request()));

        await key.RevokeAsync();
        await fixture.DeactivateAsync(key);

        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(rolled.Secret, null)).Status);
        Assert.Equal(ApiKeyStatus.Revoked, (await key.GetAsync())!.Status);
    }

    [Fact]
    public async Task A_row_a_crash_left_behind_is_written_again_by_the_next_activation_and_a_write_right_after_it_lands_last()
    {
        var (id, key) = NewKey();
        var secret = (await key.CreateAsync(Request()))!.Secret;

        // As a crash between the key's state write and its row write leaves it: no row.
        await fixture.ExecuteSqlAsync($"DELETE FROM api_keys WHERE id = '{id}'");
        await fixture.DeactivateAsync(key);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(secret, null)).Status);
        // Deactivating waits for the activation's rewrite.
        await fixture.DeactivateAsync(key);
        Assert.Equal(("ci key", false), await RowAsync(id));

        // A revoke as the first call of an activation: its row write lands after the activation's rewrite of the
        // older, active view, never before it.
        await fixture.ExecuteSqlAsync($"UPDATE api_keys SET name = 'stale' WHERE id = '{id}'");
        await key.RevokeAsync();
        Assert.Equal(("ci key", true), await RowAsync(id));
    }

    private async Task<(string Name, bool Revoked)?> RowAsync(string id)
    {
        await using var command = fixture.Database.CreateCommand("SELECT name, revoked_at FROM api_keys WHERE id = @id").With("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), !reader.IsDBNull(1)) : null;
    }

    /// <summary>A silo's key memory as the grain sees it: it records what it was told to forget.</summary>
    private sealed class RecordingHolder : IApiKeyHolder
    {
        private readonly List<string> _forgotten = [];

        public IReadOnlyList<string> Forgotten
        {
            get
            {
                lock (_forgotten)
                {
                    return [.. _forgotten];
                }
            }
        }

        public Task ForgetAsync(string keyId)
        {
            lock (_forgotten)
            {
                _forgotten.Add(keyId);
            }

            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Holders_of_a_valid_answer_forget_the_key_before_a_revoke_or_roll_returns()
    {
        var holder = new RecordingHolder();
        var reference = fixture.Grains.CreateObjectReference<IApiKeyHolder>(holder);
        var (revokedId, revoked) = NewKey();
        var (rolledId, rolled) = NewKey();
        var revokedSecret = (await revoked.CreateAsync(Request()))!.Secret;
        var rolledSecret = (await rolled.CreateAsync(Request()))!.Secret;
        Assert.Equal(ApiKeyCheckStatus.Valid, (await revoked.VerifyAsync(revokedSecret, reference)).Status);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await rolled.VerifyAsync(rolledSecret, reference)).Status);
        Assert.Empty(holder.Forgotten);

        await revoked.RevokeAsync();
        Assert.Equal([revokedId], holder.Forgotten);
        var newSecret = (await rolled.RollAsync()).Key!.Secret;
        Assert.Equal([revokedId, rolledId], holder.Forgotten);

        // A refused verification registers no holder, and a holder is told once.
        Assert.Equal(ApiKeyCheckStatus.Revoked, (await revoked.VerifyAsync(revokedSecret, reference)).Status);
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await rolled.VerifyAsync(rolledSecret, reference)).Status);
        await revoked.RevokeAsync();
        Assert.Equal([revokedId, rolledId], holder.Forgotten);

        // The new secret's holder is told at the next roll.
        Assert.Equal(ApiKeyCheckStatus.Valid, (await rolled.VerifyAsync(newSecret, reference)).Status);
        await rolled.RollAsync();
        Assert.Equal([revokedId, rolledId, rolledId], holder.Forgotten);
        GC.KeepAlive(holder);
    }

    [Fact]
    public async Task Holders_forget_the_key_when_its_grain_goes_away()
    {
        var holder = new RecordingHolder();
        var reference = fixture.Grains.CreateObjectReference<IApiKeyHolder>(holder);
        var (id, key) = NewKey();
        var secret = (await key.CreateAsync(Request()))!.Secret;
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(secret, reference)).Status);

        await fixture.DeactivateAsync(key);

        // The new activation starts with no holders: a revoke now has no one left to tell.
        Assert.Equal([id], holder.Forgotten);
        await key.RevokeAsync();
        Assert.Equal([id], holder.Forgotten);
        GC.KeepAlive(holder);
    }

    [Fact]
    public async Task A_valid_answer_carries_the_expiry()
    {
        var (_, key) = NewKey();
        var expiresAt = fixture.Time.GetUtcNow().AddMinutes(10);
        var secret = (await key.CreateAsync(Request(expiresAt)))!.Secret;

        Assert.Equal(expiresAt, (await key.VerifyAsync(secret, null)).ExpiresAt);
    }
}
