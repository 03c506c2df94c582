using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>The non-default options of issue 15, on one server per storage mode.</summary>
public static class ResourceOptionSettings
{
    public static void Apply(Dictionary<string, string?> settings)
    {
        settings["Api:Envelope"] = "status-message-data";
        settings["Paging:DefaultPerPage"] = "5";
        settings["Resources:RequireIfMatch"] = "true";
        settings["Resources:RequireDeclaredTypes"] = "true";
    }
}

public sealed class ResourceOptionEmbeddedServer : EmbeddedServer
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        ResourceOptionSettings.Apply(settings);
        return settings;
    }
}

public sealed class ResourceOptionPostgresServer : PostgresServer
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        ResourceOptionSettings.Apply(settings);
        return settings;
    }
}

/// <summary>
/// <c>Api:Envelope=status-message-data</c> on success, list and error answers; <c>Paging:DefaultPerPage</c>;
/// <c>Resources:RequireIfMatch</c>; <c>Resources:RequireDeclaredTypes</c>, including a type deleted while its
/// resources are being created.
/// </summary>
public abstract class ResourceOptionTests(ApiServer server) : ApiTestBase(server)
{
    private static void IfMatch(HttpRequestMessage request, string etag) => request.Headers.TryAddWithoutValidation("If-Match", etag);

    [Fact]
    public async Task Every_answer_is_wrapped_in_status_message_and_data()
    {
        var user = await Client.RegisterAsync();
        var created = (await Client.PostAsync("/v1/resource-types", new { name = "doc" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.StartsWith("application/json", created.ContentHeaders?.ContentType?.ToString());
        Assert.Equal(201, (int?)created.Json["status"]);
        Assert.Equal("Created", (string?)created.Json["message"]);
        Assert.Equal("doc", (string?)created.Data["name"]);

        var resource = (await Client.PostAsync("/v1/resources", new { name = "r", type = "doc" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(201, (int?)resource.Json["status"]);
        var id = (string)resource.Data["id"]!;
        var read = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(["status", "message", "data"], read.Json.AsObject().Select(p => p.Key));
        Assert.Equal("OK", (string?)read.Json["message"]);
        Assert.Equal("\"1\"", read.Header("ETag"));

        var list = (await Client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(["status", "message", "data", "meta"], list.Json.AsObject().Select(p => p.Key));
        Assert.Equal(1, (int?)list.Json["meta"]!["total"]);
        Assert.Equal(id, (string?)list.Data[0]!["id"]);

        var missing = await Client.GetAsync("/v1/resources/res_AAAAAAAAAAAAAAAAAAAAAA", user.Token);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.StartsWith("application/json", missing.ContentHeaders?.ContentType?.ToString());
        Assert.Equal(404, (int?)missing.Json["status"]);
        Assert.Equal("The resource was not found.", (string?)missing.Json["message"]);
        Assert.Equal("resource_not_found", (string?)missing.Data["code"]);
        Assert.StartsWith("req_", (string?)missing.Data["request_id"]);

        var invalid = await Client.PostAsync("/v1/resources", new { name = "" , type = "doc" }, user.Token);
        Assert.Equal(400, (int?)invalid.Json["status"]);
        Assert.NotNull(invalid.Data["errors"]!["name"]);
        var unauthenticated = await Client.GetAsync("/v1/resources");
        Assert.Equal(401, (int?)unauthenticated.Json["status"]);
        Assert.Equal("authentication_required", (string?)unauthenticated.Data["code"]);

        var tokens = (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password })).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(200, (int?)tokens.Json["status"]);
        Assert.StartsWith("rt_", (string?)tokens.Data["refresh_token"]);

        var deleted = await Client.DeleteAsync($"/v1/resources/{id}", user.Token, r => IfMatch(r, "\"1\""));
        Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
        Assert.Equal("", deleted.Body);
    }

    [Fact]
    public async Task Lists_default_to_the_configured_page_size()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/resource-types", new { name = "page" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        for (var i = 0; i < 7; i++)
        {
            (await Client.PostAsync("/v1/resources", new { name = $"r{i}", type = "page" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        }

        var list = (await Client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(5, list.Data.AsArray().Count);
        Assert.Equal(5, (int?)list.Json["meta"]!["per_page"]);
        Assert.Equal(7, (int?)list.Json["meta"]!["total"]);
        Assert.Equal(2, (int?)list.Json["meta"]!["total_pages"]);
        Assert.Equal(7, (await Client.GetAsync("/v1/resources?per_page=10", user.Token)).Data.AsArray().Count);
    }

    [Fact]
    public async Task Every_put_patch_and_delete_needs_if_match()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/resource-types", new { name = "doc" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var id = (string)(await Client.PostAsync("/v1/resources", new { name = "r", type = "doc" }, user.Token)).Data["id"]!;

        var patch = await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token);
        Assert.Equal((HttpStatusCode)428, patch.Status);
        Assert.Equal("precondition_required", (string?)patch.Data["code"]);
        Assert.Equal((HttpStatusCode)428, (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent(new { name = "x", type = "doc" }), user.Token)).Status);
        Assert.Equal((HttpStatusCode)428, (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).Status);
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token, r => IfMatch(r, "\"1\""))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("x", (string?)(await Client.GetAsync($"/v1/resources/{id}", user.Token)).Data["name"]);
    }

    [Fact]
    public async Task Undeclared_types_are_refused_and_a_type_deleted_during_creates_leaves_none_of_its_resources_behind()
    {
        var user = await Client.RegisterAsync();
        var refused = await Client.PostAsync("/v1/resources", new { name = "r", type = "ghost" }, user.Token);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.NotNull(refused.Data["errors"]!["type"]);

        for (var round = 0; round < 3; round++)
        {
            var type = $"racy{round}";
            (await Client.PostAsync("/v1/resource-types", new { name = type }, user.Token)).AssertStatus(HttpStatusCode.Created);
            var creating = Enumerable.Range(0, 6).Select(i => Client.PostAsync("/v1/resources", new { name = $"c{i}", type }, user.Token)).ToList();
            var deleting = Client.DeleteAsync($"/v1/resource-types/{type}", user.Token);
            var creates = await Task.WhenAll(creating);
            var delete = await deleting;

            var made = creates.Count(c => c.Status == HttpStatusCode.Created);
            Assert.All(creates, c => Assert.Contains(c.Status, new[] { HttpStatusCode.Created, HttpStatusCode.BadRequest }));
            var listed = (await Client.GetAsync($"/v1/resources?filter[type]={type}", user.Token)).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(made, (int?)listed.Json["meta"]!["total"]);
            if (delete.Status == HttpStatusCode.NoContent)
            {
                // The delete saw no resource of the type, so every create came after it and found the type gone.
                Assert.Equal(0, made);
                Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/v1/resource-types/{type}", user.Token)).Status);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, delete.Status);
                Assert.True(made > 0);
                (await Client.GetAsync($"/v1/resource-types/{type}", user.Token)).AssertStatus(HttpStatusCode.OK);
            }

            foreach (var item in listed.Data.AsArray())
            {
                (await Client.DeleteAsync($"/v1/resources/{(string)item!["id"]!}", user.Token, r => IfMatch(r, "*"))).AssertStatus(HttpStatusCode.NoContent);
            }
        }
    }
}

public sealed class ResourceOptionTestsOnEmbedded(ResourceOptionEmbeddedServer server)
    : ResourceOptionTests(server), IClassFixture<ResourceOptionEmbeddedServer>;

public sealed class ResourceOptionTestsOnPostgres(ResourceOptionPostgresServer server)
    : ResourceOptionTests(server), IClassFixture<ResourceOptionPostgresServer>;
