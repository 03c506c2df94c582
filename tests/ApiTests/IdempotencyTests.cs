using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using static ApiPlatform.ApiTests.Infrastructure.AccountHelpers;

namespace ApiPlatform.ApiTests;

/// <summary>
/// <c>Idempotency-Key</c> on every creating POST (the contract says POST, not one endpoint): a retry replays the first
/// answer without doing the work again, another body under the key is 409, and a key reused after its retention
/// makes something new.
/// </summary>
public abstract class IdempotencyTests(ApiServer server) : ApiTestBase(server)
{
    public static TheoryData<string> Creates => ["api-keys", "organizations", "webhooks", "invitations", "members", "resources"];

    [Theory]
    [MemberData(nameof(Creates))]
    public async Task A_retry_replays_the_first_answer_and_another_body_is_409(string what)
    {
        var owner = await Client.RegisterAsync();
        var org = await Client.CreateOrgAsync(owner);
        var (path, first, second, count) = what switch
        {
            "api-keys" => ("/v1/api-keys", (object)new { name = "one" }, (object)new { name = "two" }, "/v1/api-keys"),
            "organizations" => ("/v1/organizations", new { name = "Idem " + Guid.NewGuid().ToString("N")[..8] }, new { name = "Other " + Guid.NewGuid().ToString("N")[..8] }, "/v1/organizations"),
            "webhooks" => ("/v1/webhooks", new { url = "http://127.0.0.1:9/a", events = new[] { "resource.created" } }, new { url = "http://127.0.0.1:9/b", events = new[] { "resource.created" } }, "/v1/webhooks"),
            "invitations" => ($"/v1/organizations/{org}/invitations", new { email = $"a{Guid.NewGuid():N}@example.test" }, new { email = $"b{Guid.NewGuid():N}@example.test" }, $"/v1/organizations/{org}/invitations"),
            "members" => ($"/v1/organizations/{org}/members", new { user_id = (await Client.RegisterAsync()).Id }, new { user_id = (await Client.RegisterAsync()).Id }, $"/v1/organizations/{org}/members"),
            _ => ("/v1/resources", new { name = "one" }, new { name = "two" }, "/v1/resources"),
        };
        var before = (int)(await Client.GetAsync(count, owner.Token)).AssertStatus(HttpStatusCode.OK).Json["meta"]!["total"]!;
        var key = Guid.NewGuid().ToString();

        var made = (await Client.PostAsync(path, first, owner.Token, WithKey(key))).AssertStatus(HttpStatusCode.Created);
        var again = (await Client.PostAsync(path, first, owner.Token, WithKey(key))).AssertStatus(HttpStatusCode.Created);

        Assert.Equal(made.Body, again.Body);
        Assert.Equal(made.Header("Location"), again.Header("Location"));
        Assert.Equal("true", again.Header("Idempotent-Replayed"));
        Assert.Null(made.Header("Idempotent-Replayed"));
        Assert.Equal(before + 1, (int)(await Client.GetAsync(count, owner.Token)).Json["meta"]!["total"]!);
        (await Client.PostAsync(path, second, owner.Token, WithKey(key))).AssertProblem(HttpStatusCode.Conflict, "conflict");
        // Keys are per owner: another user's identical key is a first use.
        if (what is "api-keys" or "resources" or "webhooks")
        {
            var stranger = await Client.RegisterAsync();
            var theirs = (await Client.PostAsync(path, first, stranger.Token, WithKey(key))).AssertStatus(HttpStatusCode.Created);
            Assert.NotEqual((string?)made.Data["id"], (string?)theirs.Data["id"]);
        }
    }

    [Fact]
    public async Task A_refused_create_frees_its_key_for_a_corrected_retry()
    {
        var owner = await Client.RegisterAsync();
        var key = Guid.NewGuid().ToString();
        (await Client.PostAsync("/v1/api-keys", new { scopes = new[] { "root" } }, owner.Token, WithKey(key))).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/api-keys", new { name = "fixed" }, owner.Token, WithKey(key))).AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_key_reused_after_its_retention_makes_a_new_resource_instead_of_returning_the_old_one()
    {
        var owner = await Client.RegisterAsync();
        var key = Guid.NewGuid().ToString();
        var old = (await Client.PostAsync("/v1/resources", new { name = "old" }, owner.Token, WithKey(key))).AssertStatus(HttpStatusCode.Created);

        Server.Time.Advance(TimeSpan.FromHours(25));
        var token = await Client.LoginTokenAsync(owner);

        var fresh = (await Client.PostAsync("/v1/resources", new { name = "new" }, token, WithKey(key))).AssertStatus(HttpStatusCode.Created);
        Assert.Null(fresh.Header("Idempotent-Replayed"));
        Assert.NotEqual((string?)old.Data["id"], (string?)fresh.Data["id"]);
        Assert.Equal("new", (string?)fresh.Data["name"]);
        Assert.Equal(2, (int?)(await Client.GetAsync("/v1/resources", token)).Json["meta"]!["total"]);
    }
}

[Collection(Servers.Embedded)]
public sealed class IdempotencyTestsOnEmbedded(EmbeddedServer server) : IdempotencyTests(server);

[Collection(Servers.Postgres)]
public sealed class IdempotencyTestsOnPostgres(PostgresServer server) : IdempotencyTests(server);
