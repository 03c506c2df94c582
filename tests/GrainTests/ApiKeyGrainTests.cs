using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;

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

    [Fact]
    public async Task Create_returns_a_secret_that_names_the_key()
    {
        var (id, key) = NewKey();
        var now = fixture.Time.GetUtcNow();

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

        var check = await key.VerifyAsync(created!.Secret);

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
            var check = await key.VerifyAsync(secret);
            Assert.Equal(ApiKeyCheckStatus.Unknown, check.Status);
            Assert.Null(check.OwnerId);
            Assert.Null(check.Plan);
            Assert.Empty(check.Scopes);
        }
    }

    [Fact]
    public async Task Missing_key_is_unknown_everywhere()
    {
        var (id, key) = NewKey();

        Assert.Null(await key.GetAsync());
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await key.VerifyAsync(ApiKeyTokens.Create(id, "secret"))).Status);
        Assert.Null(await key.RevokeAsync());
        var roll = await key.RollAsync();
        Assert.Equal(RollStatus.NotFound, roll.Status);
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
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(first!.Secret)).Status);
    }

    [Fact]
    public async Task Revoked_key_verifies_as_revoked()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request());
        var revokedAt = fixture.Time.GetUtcNow();

        var view = await key.RevokeAsync();

        Assert.NotNull(view);
        Assert.Equal(ApiKeyStatus.Revoked, view.Status);
        Assert.Equal(revokedAt, view.RevokedAt);
        var check = await key.VerifyAsync(created!.Secret);
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
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(created.Secret)).Status);
        Assert.Equal(ApiKeyStatus.Active, (await key.GetAsync())!.Status);

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var check = await key.VerifyAsync(created.Secret);
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

        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(created!.Secret)).Status);
        Assert.Equal(ApiKeyStatus.Revoked, (await key.GetAsync())!.Status);
    }

    [Fact]
    public async Task Roll_replaces_the_secret()
    {
        var (id, key) = NewKey();
        var created = await key.CreateAsync(Request());
        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        var rolledAt = fixture.Time.GetUtcNow();

        var outcome = await key.RollAsync();

        Assert.Equal(RollStatus.Rolled, outcome.Status);
        var rolled = outcome.Key!;
        Assert.NotEqual(created!.Secret, rolled.Secret);
        Assert.True(ApiKeyTokens.TryParse(rolled.Secret, out var parsedId, out _));
        Assert.Equal(id, parsedId);
        Assert.Equal(rolledAt, rolled.Key.RolledAt);
        Assert.Equal(created.Key.CreatedAt, rolled.Key.CreatedAt);
        Assert.Equal(rolled.Secret[^4..], rolled.Key.LastFour);
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await key.VerifyAsync(created.Secret)).Status);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(rolled.Secret)).Status);
        Assert.Equal(rolledAt, (await key.GetAsync())!.RolledAt);
    }

    [Fact]
    public async Task Revoked_key_cannot_be_rolled()
    {
        var (_, key) = NewKey();
        var created = await key.CreateAsync(Request());
        await key.RevokeAsync();

        var outcome = await key.RollAsync();

        Assert.Equal(RollStatus.Revoked, outcome.Status);
        Assert.Null(outcome.Key);
        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(created!.Secret)).Status);
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
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await key.VerifyAsync(created!.Secret)).Status);
        Assert.Equal(ApiKeyCheckStatus.Valid, (await key.VerifyAsync(rolled.Secret)).Status);
        Assert.Null(await key.CreateAsync(Request()));

        await key.RevokeAsync();
        await fixture.DeactivateAsync(key);

        Assert.Equal(ApiKeyCheckStatus.Revoked, (await key.VerifyAsync(rolled.Secret)).Status);
        Assert.Equal(ApiKeyStatus.Revoked, (await key.GetAsync())!.Status);
    }
}
