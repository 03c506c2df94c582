using System.Net;
using System.Security.Cryptography;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>The bootstrap administrator is one account, whoever creates it and however often it is started.</summary>
public sealed class BootstrapTests
{
    [Fact]
    public async Task A_bootstrap_that_stopped_half_way_is_finished_by_the_next_start()
    {
        await using var server = new EmbeddedServer();
        server.Overrides["Bootstrap:AdminEmail"] = null;
        await server.StartAsync();

        // What a silo that died after claiming the email and username, before creating the user, leaves behind.
        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var adminId = BootstrapAdminService.AdminUserId(ApiServer.AdminEmail);
        Assert.True(await grains.GetGrain<IUniqueIndexGrain>(UniqueKeys.Email(ApiServer.AdminEmail)).TryClaimAsync(adminId));
        Assert.True(await grains.GetGrain<IUniqueIndexGrain>(UniqueKeys.Username("admin")).TryClaimAsync(adminId));

        await server.StopAsync();
        server.Overrides.Remove("Bootstrap:AdminEmail");
        await server.StartAsync();

        using var client = server.CreateClient();
        var tokens = await client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword);
        var me = (await client.GetAsync("/v1/users/me", Credential.Bearer((string)tokens["access_token"]!))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(adminId, (string)me.Data["id"]!);
        Assert.Equal("admin", (string)me.Data["role"]!);
    }

    [Fact]
    public async Task Two_silos_starting_together_build_one_administrator()
    {
        var database = new TestDatabase();
        Assert.SkipUnless(TestDatabase.ServerConnectionString is not null, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        await database.CreateAsync();
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        var first = new PostgresServer(database, key, clusterId: null);
        var second = new PostgresServer(database, key, first.ClusterId);
        try
        {
            await Task.WhenAll(first.StartAsync(), second.StartAsync());
            foreach (var server in new[] { first, second })
            {
                using var client = server.CreateClient();
                var tokens = await client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword);
                var me = (await client.GetAsync("/v1/users/me", Credential.Bearer((string)tokens["access_token"]!))).AssertStatus(HttpStatusCode.OK);
                Assert.Equal(BootstrapAdminService.AdminUserId(ApiServer.AdminEmail), (string)me.Data["id"]!);
            }
        }
        finally
        {
            await second.DisposeAsync();
            await first.DisposeAsync();
            await database.DropAsync();
        }
    }
}
