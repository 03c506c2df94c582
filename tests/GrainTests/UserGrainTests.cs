using ApiPlatform.Grains;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Users;

namespace ApiPlatform.GrainTests;

public sealed class UserGrainTests(ClusterFixture fixture)
{
    private static readonly NewUser Ann = new(
        "ann@example.test", "ann", "hash-of-ann", SystemRoles.User, "free", new UserProfile("Ann", "Lee", "https://example.test/ann.png"));

    private (string Id, IUserGrain Grain) NewUser()
    {
        var id = Ids.New(Ids.User);
        return (id, fixture.Grains.GetGrain<IUserGrain>(id));
    }

    private static ProfileUpdate Update(string? first = null, string? last = null, string? avatar = null, params string[] clear) =>
        new(first, last, avatar, clear);

    [Fact]
    public async Task Created_user_can_be_read()
    {
        var (id, user) = NewUser();
        var now = fixture.Time.GetUtcNow();

        Assert.True(await user.CreateAsync(Ann));

        var view = await user.GetAsync();
        Assert.NotNull(view);
        Assert.Equal(id, view.Id);
        Assert.Equal("ann@example.test", view.Email);
        Assert.Equal("ann", view.Username);
        Assert.Equal(new UserProfile("Ann", "Lee", "https://example.test/ann.png"), view.Profile);
        Assert.Equal(SystemRoles.User, view.Role);
        Assert.Equal("free", view.Plan);
        Assert.Equal(now, view.CreatedAt);
        Assert.Equal(now, view.UpdatedAt);
    }

    [Fact]
    public async Task Second_create_is_refused_and_changes_nothing()
    {
        var (_, user) = NewUser();
        Assert.True(await user.CreateAsync(Ann));

        Assert.False(await user.CreateAsync(Ann with { Email = "mallory@example.test", Role = SystemRoles.Admin }));

        var view = await user.GetAsync();
        Assert.Equal("ann@example.test", view!.Email);
        Assert.Equal(SystemRoles.User, view.Role);
    }

    [Fact]
    public async Task Profile_update_with_null_fields_keeps_the_values()
    {
        var (_, user) = NewUser();
        await user.CreateAsync(Ann);

        var view = await user.UpdateProfileAsync(Update(first: "Anna"));

        Assert.Equal(new UserProfile("Anna", "Lee", "https://example.test/ann.png"), view!.Profile);
        Assert.Equal(view.Profile, (await user.GetAsync())!.Profile);
    }

    [Fact]
    public async Task Profile_update_clears_the_named_fields()
    {
        var (_, user) = NewUser();
        await user.CreateAsync(Ann);

        var view = await user.UpdateProfileAsync(Update(last: "Lee-Smith", clear: ["first_name", "avatar_url"]));

        Assert.Equal(new UserProfile(null, "Lee-Smith", null), view!.Profile);
        Assert.Equal(view.Profile, (await user.GetAsync())!.Profile);
    }

    [Fact]
    public async Task Clear_wins_over_a_value_for_the_same_field()
    {
        var (_, user) = NewUser();
        await user.CreateAsync(Ann);

        var view = await user.UpdateProfileAsync(Update(first: "Anna", clear: ["first_name"]));

        Assert.Null(view!.Profile.FirstName);
    }

    [Fact]
    public async Task Updates_move_updated_at_with_the_clock()
    {
        var (_, user) = NewUser();
        var created = fixture.Time.GetUtcNow();
        await user.CreateAsync(Ann);

        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        var view = await user.UpdateProfileAsync(Update(first: "Anna"));
        Assert.Equal(created, view!.CreatedAt);
        Assert.Equal(created.AddMinutes(5), view.UpdatedAt);

        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        await user.ChangeUsernameAsync("anna");
        view = await user.GetAsync();
        Assert.Equal(created, view!.CreatedAt);
        Assert.Equal(created.AddMinutes(10), view.UpdatedAt);
    }

    [Fact]
    public async Task Change_username_returns_the_old_one()
    {
        var (_, user) = NewUser();
        await user.CreateAsync(Ann);

        Assert.Equal("ann", await user.ChangeUsernameAsync("anna"));
        Assert.Equal("anna", await user.ChangeUsernameAsync("annie"));
        Assert.Equal("annie", (await user.GetAsync())!.Username);
    }

    [Fact]
    public async Task Credentials_carry_the_password_hash_role_and_plan()
    {
        var (id, user) = NewUser();
        await user.CreateAsync(Ann with { Role = SystemRoles.Admin, Plan = "pro" });

        Assert.Equal(new UserCredentials(id, "hash-of-ann", SystemRoles.Admin, "pro", Disabled: false, EmailVerified: false, Ann.Email), await user.GetCredentialsAsync());

        await user.SetPasswordHashAsync("stronger-hash");
        Assert.Equal("stronger-hash", (await user.GetCredentialsAsync())!.PasswordHash);
    }

    [Fact]
    public async Task Missing_user_is_null_everywhere()
    {
        var (_, user) = NewUser();

        Assert.Null(await user.GetAsync());
        Assert.Null(await user.GetCredentialsAsync());
        Assert.Null(await user.ChangeUsernameAsync("ghost"));
        Assert.Null(await user.UpdateProfileAsync(Update(first: "Ghost")));
        await user.SetPasswordHashAsync("hash");
        Assert.Null(await user.GetAsync());
        Assert.Null(await user.GetCredentialsAsync());
    }

    [Fact]
    public async Task A_directory_row_a_crash_left_behind_is_written_again_by_the_next_activation_and_a_write_right_after_it_lands_last()
    {
        var (id, user) = NewUser();
        Assert.True(await user.CreateAsync(Ann with { Email = $"{id}@example.test", Username = id }));

        // As a crash between the user's state write and its directory write leaves it: no row.
        await fixture.ExecuteSqlAsync($"DELETE FROM users_directory WHERE id = '{id}'");
        await fixture.DeactivateAsync(user);
        Assert.NotNull(await user.GetAsync());
        // Deactivating waits for the activation's rewrite.
        await fixture.DeactivateAsync(user);
        Assert.Equal(("Ann", id), await RowAsync(id));

        // A change as the first call of an activation: its row write lands after the activation's rewrite of the
        // older view, never before it.
        await fixture.ExecuteSqlAsync($"UPDATE users_directory SET username = 'stale' WHERE id = '{id}'");
        await user.UpdateProfileAsync(Update(first: "Eve"));
        Assert.Equal(("Eve", id), await RowAsync(id));
    }

    private async Task<(string? FirstName, string Username)?> RowAsync(string id)
    {
        await using var command = fixture.Database.CreateCommand("SELECT first_name, username FROM users_directory WHERE id = @id").With("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1)) : null;
    }

    [Fact]
    public async Task User_survives_deactivation()
    {
        var (_, user) = NewUser();
        await user.CreateAsync(Ann);
        await user.UpdateProfileAsync(Update(clear: ["avatar_url"]));
        var before = await user.GetAsync();

        await fixture.DeactivateAsync(user);

        Assert.Equal(before, await user.GetAsync());
    }
}
