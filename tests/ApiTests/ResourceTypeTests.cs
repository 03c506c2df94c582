using System.Net;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Resource types: declarations per tenant, JSON Schema with field paths, the stored-size cap, PUT, If-Match
/// requirements, deletion while in use, plan caps, and content negotiation (406).
/// </summary>
public abstract class ResourceTypeTests(ApiServer server) : ApiTestBase(server)
{
    private const string ItemSchema = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["title"],
          "properties": {
            "title": {"type": "string", "minLength": 1},
            "items": {
              "type": "array",
              "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"}, "qty": {"type": "integer", "minimum": 1}},
                "additionalProperties": false
              }
            }
          }
        }
        """;

    private async Task<JsonNode> DeclareAsync(TestUser user, string body, Action<HttpRequestMessage>? configure = null) =>
        (await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent(body), user.Token, configure)).AssertStatus(HttpStatusCode.Created).Data;

    private async Task<string> CreateAsync(TestUser user, object body) =>
        (string)(await Client.PostAsync("/v1/resources", body, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;

    private static void IfMatch(HttpRequestMessage request, string etag) => request.Headers.TryAddWithoutValidation("If-Match", etag);

    private static void Accept(HttpRequestMessage request, string accept) => request.Headers.TryAddWithoutValidation("Accept", accept);

    [Fact]
    public async Task A_type_is_declared_read_listed_changed_and_deleted()
    {
        var user = await Client.RegisterAsync();
        var created = await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent(
            $$"""{"name": "order", "schema": {{ItemSchema}}, "indexes": [{"field": "total", "type": "number"}], "require_if_match": true}"""), user.Token);
        created.AssertStatus(HttpStatusCode.Created);
        Assert.Equal("/v1/resource-types/order", created.Header("Location"));
        var data = created.Data;
        Assert.Equal("order", (string?)data["name"]);
        Assert.Equal(8192, (int?)data["max_bytes"]);
        Assert.True((bool?)data["max_bytes_is_default"]);
        Assert.True((bool?)data["require_if_match"]);
        Assert.Equal("ready", (string?)data["indexes"]![0]!["status"]);
        Assert.Equal("array", (string?)data["schema"]!["properties"]!["items"]!["type"]);

        (await Client.PostAsync("/v1/resource-types", new { name = "order" }, user.Token)).AssertProblem(HttpStatusCode.Conflict, "already_exists");
        await DeclareAsync(user, """{"name": "alpha"}""");
        var list = (await Client.GetAsync("/v1/resource-types", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(["alpha", "order"], list.Data.AsArray().Select(t => (string)t!["name"]!));
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);

        var changed = (await Client.PatchAsync("/v1/resource-types/order", new { max_bytes = 2048, require_if_match = false, schema = (object?)null }, user.Token))
            .AssertStatus(HttpStatusCode.OK).Data;
        Assert.Equal(2048, (int?)changed["max_bytes"]);
        Assert.False((bool?)changed["max_bytes_is_default"]);
        Assert.False((bool?)changed["require_if_match"]);
        Assert.Null(changed["schema"]);
        Assert.Equal("total", (string?)changed["indexes"]![0]!["field"]);
        (await Client.PatchAsync("/v1/resource-types/order", new { name = "renamed" }, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");

        (await Client.DeleteAsync("/v1/resource-types/order", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/resource-types/order", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync("/v1/resource-types/order", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync("/v1/resource-types/order", new { max_bytes = 2048 }, user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Theory]
    [InlineData("""{"name": "bad name"}""", "name")]
    [InlineData("""{"name": "-dash"}""", "name")]
    [InlineData("""{"name": "x", "schema": "string"}""", "schema")]
    [InlineData("""{"name": "x", "schema": {"type": "nope"}}""", "schema.type")]
    [InlineData("""{"name": "x", "schema": {"properties": {"a": {"minimum": "one"}}}}""", "schema.properties.a.minimum")]
    [InlineData("""{"name": "x", "schema": {"$ref": "https://example.com/remote.json"}}""", "schema")]
    [InlineData("""{"name": "x", "schema": {"$ref": "#/$defs/missing"}}""", "schema")]
    [InlineData("""{"name": "x", "schema": {"properties": {"a": {"pattern": "^(?=a)a$"}}}}""", "schema")]
    [InlineData("""{"name": "x", "schema": {"$schema": "http://json-schema.org/draft-07/schema#"}}""", "schema.$schema")]
    [InlineData("""{"name": "x", "max_bytes": 100}""", "max_bytes")]
    [InlineData("""{"name": "x", "max_bytes": 1000000}""", "max_bytes")]
    [InlineData("""{"name": "x", "indexes": [{"field": "a", "type": "date"}]}""", "indexes[0].type")]
    [InlineData("""{"name": "x", "indexes": [{"field": "a.b", "type": "string"}]}""", "indexes[0].field")]
    [InlineData("""{"name": "x", "indexes": [{"field": "a", "type": "string"}, {"field": "a", "type": "number"}]}""", "indexes[1].field")]
    [InlineData("""{"name": "x", "indexes": [{"field": "a", "type": "string"}, {"field": "b", "type": "string"}, {"field": "c", "type": "string"}, {"field": "d", "type": "string"}, {"field": "e", "type": "string"}, {"field": "f", "type": "string"}]}""", "indexes")]
    [InlineData("""{"name": "x", "require_if_match": "yes"}""", "require_if_match")]
    public async Task A_bad_declaration_is_400_naming_it_and_nothing_is_declared(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var problem = (await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent(body), user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.True(problem["errors"]![field] is not null, $"expected an error on '{field}': {problem.ToJsonString()}");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resource-types", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Metadata_failing_the_schema_is_400_keyed_by_field_path_on_create_patch_and_put()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, $$"""{"name": "order", "schema": {{ItemSchema}}}""");

        var bad = await Client.SendAsync(HttpMethod.Post, "/v1/resources", ApiClient.JsonContent("""
            {"name": "o1", "type": "order", "metadata": {"items": [{"sku": "abc", "qty": 1, "color": "red"}, {"sku": "ABC-1", "qty": 0}, {"qty": 2}]}}
            """), user.Token);
        var errors = bad.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!.AsObject();
        Assert.Equal(
            new[] { "metadata.items[0].color", "metadata.items[0].sku", "metadata.items[1].qty", "metadata.items[2].sku", "metadata.title" },
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);

        var id = await CreateAsync(user, new { name = "o1", type = "order", metadata = new { title = "ok", items = new[] { new { sku = "ABC-1", qty = 2 } } } });
        var before = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).Body;

        var patch = await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { items = new[] { new { sku = "ABC-1", qty = -1 } } } }, user.Token);
        Assert.NotNull(patch.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["metadata.items[0].qty"]);
        var put = await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "o1", "type": "order", "metadata": {"title": 5}}"""), user.Token);
        Assert.NotNull(put.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["metadata.title"]);
        // Moving a resource into a type is a write of that type: its schema applies.
        var other = await CreateAsync(user, new { name = "loose", metadata = new { items = "none" } });
        Assert.NotNull((await Client.PatchAsync($"/v1/resources/{other}", new { type = "order" }, user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["metadata.items"]);

        Assert.Equal(before, (await Client.GetAsync($"/v1/resources/{id}", user.Token)).Body);
    }

    [Fact]
    public async Task A_schema_change_applies_to_later_writes_only()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "note", "schema": {"type": "object"}}""");
        var id = await CreateAsync(user, new { name = "n", type = "note", metadata = new { text = "hi" } });

        (await Client.PatchAsync("/v1/resource-types/note", new { schema = new { type = "object", required = new[] { "color" } } }, user.Token))
            .AssertStatus(HttpStatusCode.OK);

        (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.NotNull((await Client.PatchAsync($"/v1/resources/{id}", new { name = "renamed" }, user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["metadata.color"]);
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { color = "red" } }, user.Token)).AssertStatus(HttpStatusCode.OK);

        (await Client.PatchAsync("/v1/resource-types/note", new { schema = (object?)null }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { color = (string?)null } }, user.Token)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_backtracking_pattern_is_evaluated_in_linear_time()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "redos", "schema": {"properties": {"s": {"pattern": "^(a+)+$"}}, "patternProperties": {"^(x+)+$": {"type": "number"}}}}""");
        var evil = new string('a', 5000) + "!";
        var response = await Client.PostAsync("/v1/resources", new { name = "r", type = "redos", metadata = new { s = evil } }, user.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["metadata.s"]);
        await CreateAsync(user, new { name = "r", type = "redos", metadata = new { s = "aaaa", xxx = 1 } });
    }

    [Fact]
    public async Task The_stored_document_cap_refuses_growth_by_patch_and_by_put_and_writes_nothing()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "small", "max_bytes": 1024}""");
        var chunk = new string('x', 300);
        var id = await CreateAsync(user, new { name = "grows", type = "small", metadata = new { a = chunk } });
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { b = chunk } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var before = await Client.GetAsync($"/v1/resources/{id}", user.Token);

        var third = await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { c = chunk } }, user.Token);
        Assert.Contains("1024", (string?)third.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large")["detail"]);
        var put = await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}",
            ApiClient.JsonContent(new { name = "grows", type = "small", metadata = new { big = new string('y', 1100) } }), user.Token);
        put.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        (await Client.PostAsync("/v1/resources", new { name = "born big", type = "small", metadata = new { big = new string('y', 1100) } }, user.Token))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

        var after = await Client.GetAsync($"/v1/resources/{id}", user.Token);
        Assert.Equal(before.Body, after.Body);
        Assert.Equal(before.Header("ETag"), after.Header("ETag"));
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources?filter[type]=small", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Repeated_merge_patches_of_an_undeclared_type_stop_at_the_default_cap()
    {
        var user = await Client.RegisterAsync();
        var id = await CreateAsync(user, new { name = "plain" });
        var chunk = new string('z', 3000);
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { a = chunk } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { b = chunk } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{id}", new { metadata = new { c = chunk } }, user.Token)).AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        var stored = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("\"3\"", stored.Header("ETag"));
        Assert.Equal(["a", "b"], stored.Data["metadata"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task A_type_allowing_larger_documents_lets_their_bodies_through_up_to_the_configured_limit()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "large", "max_bytes": 20000}""");
        var id = await CreateAsync(user, new { name = "big", type = "large", metadata = new { text = new string('l', 15_000) } });
        Assert.Equal(15_000, ((string?)(await Client.GetAsync($"/v1/resources/{id}", user.Token)).Data["metadata"]!["text"])!.Length);
        // The same body for an undeclared type passes the edge but not the default cap of the stored document.
        (await Client.PostAsync("/v1/resources", new { name = "big", metadata = new { text = new string('l', 15_000) } }, user.Token))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        // Past Resources:MaxDocumentBytesLimit the edge refuses it, and other endpoints keep Gateway:MaxRequestBodyBytes.
        (await Client.PostAsync("/v1/resources", new { name = "huge", type = "large", metadata = new { text = new string('l', 70_000) } }, user.Token))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        (await Client.PostAsync("/v1/webhooks", new { url = "http://127.0.0.1:1/x", events = new[] { "resource.created" }, description = new string('d', 9000) }, user.Token))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task Put_replaces_every_writable_field_and_keeps_id_created_at_and_etag_rules()
    {
        var user = await Client.RegisterAsync();
        var created = (await Client.PostAsync("/v1/resources", new { name = "a", description = "d", type = "widget", status = "inactive", metadata = new { keep = 1 } }, user.Token))
            .AssertStatus(HttpStatusCode.Created).Data;
        var id = (string)created["id"]!;
        Server.Time.Advance(TimeSpan.FromSeconds(3));

        var put = await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "b", "metadata": {"new": true}}"""), user.Token);
        var data = put.AssertStatus(HttpStatusCode.OK).Data;
        Assert.Equal("\"2\"", put.Header("ETag"));
        Assert.Equal("b", (string?)data["name"]);
        Assert.Null((string?)data["description"]);
        Assert.Equal("standard", (string?)data["type"]);
        Assert.Equal("active", (string?)data["status"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"new": true}"""), data["metadata"]));
        Assert.Equal((string?)created["created_at"], (string?)data["created_at"]);
        Assert.NotEqual((string?)created["updated_at"], (string?)data["updated_at"]);

        var same = await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "b", "metadata": {"new": true}}"""), user.Token);
        Assert.Equal("\"2\"", same.AssertStatus(HttpStatusCode.OK).Header("ETag"));
        (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "c"}"""), user.Token, r => IfMatch(r, "\"1\"")))
            .AssertProblem(HttpStatusCode.PreconditionFailed, "precondition_failed");
        (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"description": "no name"}"""), user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "c"}"""), user.Token, r => IfMatch(r, "\"2\"")))
            .AssertStatus(HttpStatusCode.OK);
        (await Client.SendAsync(HttpMethod.Put, "/v1/resources/res_AAAAAAAAAAAAAAAAAAAAAA", ApiClient.JsonContent("""{"name": "c"}"""), user.Token))
            .AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var stranger = await Client.RegisterAsync();
        (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "stolen"}"""), stranger.Token))
            .AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal("c", (string?)(await Client.GetAsync($"/v1/resources/{id}", user.Token)).Data["name"]);
    }

    [Fact]
    public async Task A_type_requiring_if_match_answers_428_to_put_patch_and_delete_without_it()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "guarded", "require_if_match": true}""");
        var id = await CreateAsync(user, new { name = "g", type = "guarded" });
        var free = await CreateAsync(user, new { name = "f" });

        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token)).AssertProblem((HttpStatusCode)428, "precondition_required");
        (await Client.SendAsync(HttpMethod.Put, $"/v1/resources/{id}", ApiClient.JsonContent("""{"name": "x", "type": "guarded"}"""), user.Token))
            .AssertProblem((HttpStatusCode)428, "precondition_required");
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertProblem((HttpStatusCode)428, "precondition_required");
        (await Client.PatchAsync($"/v1/resources/{free}", new { name = "x" }, user.Token)).AssertStatus(HttpStatusCode.OK);

        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token, r => IfMatch(r, "\"1\""))).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "y" }, user.Token, r => IfMatch(r, "*"))).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token, r => IfMatch(r, "\"3\""))).AssertStatus(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Deleting_a_type_that_has_resources_is_409_until_they_are_gone()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "kept"}""");
        var a = await CreateAsync(user, new { name = "a", type = "kept" });
        var b = await CreateAsync(user, new { name = "b" });
        (await Client.PatchAsync($"/v1/resources/{b}", new { type = "kept" }, user.Token)).AssertStatus(HttpStatusCode.OK);

        Assert.Contains("2 resource", (string?)(await Client.DeleteAsync("/v1/resource-types/kept", user.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict")["detail"]);
        (await Client.DeleteAsync($"/v1/resources/{a}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.PatchAsync($"/v1/resources/{b}", new { type = "other" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync("/v1/resource-types/kept", user.Token)).AssertStatus(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Types_are_per_tenant_and_in_an_organization_belong_to_it()
    {
        var owner = await Client.RegisterAsync();
        var stranger = await Client.RegisterAsync();
        await DeclareAsync(owner, """{"name": "secret", "schema": {"required": ["x"]}}""");

        (await Client.GetAsync("/v1/resource-types/secret", stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync("/v1/resource-types/secret", new { max_bytes = 2048 }, stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync("/v1/resource-types/secret", stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resource-types", stranger.Token)).Json["meta"]!["total"]);
        // The same name is the stranger's own business: the owner's schema does not apply to it.
        await CreateAsync(stranger, new { name = "mine", type = "secret" });
        await DeclareAsync(stranger, """{"name": "secret"}""");

        var slug = "types-" + Guid.NewGuid().ToString("N")[..10];
        var org = (string)(await Client.PostAsync("/v1/organizations", new { name = "Org " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        void InOrg(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("X-Organization-Id", org);
        await DeclareAsync(owner, """{"name": "shared", "schema": {"required": ["y"]}}""", InOrg);
        (await Client.GetAsync("/v1/resource-types/shared", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/resource-types/shared", owner.Token, InOrg)).AssertStatus(HttpStatusCode.OK);
        (await Client.PostAsync("/v1/resources", new { name = "r", type = "shared" }, owner.Token, InOrg)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/resources", new { name = "r", type = "shared" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Declaring_past_the_plans_type_cap_is_402()
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 10; i++)
        {
            await DeclareAsync(user, $$"""{"name": "t{{i}}"}""");
        }

        (await Client.PostAsync("/v1/resource-types", new { name = "t10" }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");
        (await Client.DeleteAsync("/v1/resource-types/t3", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        await DeclareAsync(user, """{"name": "t10"}""");
    }

    [Fact]
    public async Task An_indexed_field_of_the_wrong_value_type_is_400()
    {
        var user = await Client.RegisterAsync();
        await DeclareAsync(user, """{"name": "priced", "indexes": [{"field": "price", "type": "number"}, {"field": "at", "type": "timestamp"}, {"field": "sku", "type": "string"}]}""");
        var response = await Client.PostAsync("/v1/resources", new { name = "p", type = "priced", metadata = new { price = "cheap", at = "yesterday", sku = new string('s', 600) } }, user.Token);
        var errors = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!.AsObject();
        Assert.Equal(["metadata.at", "metadata.price", "metadata.sku"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        await CreateAsync(user, new { name = "p", type = "priced", metadata = new { price = 3.5, at = "2030-01-15T10:00:00Z", sku = (string?)null } });
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("application/xml, text/plain;q=0.5")]
    [InlineData("image/*")]
    [InlineData("application/json;q=0, application/problem+json;q=0, */*")]
    [InlineData("application/*;q=0")]
    [InlineData("application/json; charset=iso-8859-1")]
    public async Task An_accept_header_admitting_no_json_is_406_with_a_json_problem(string accept)
    {
        var user = await Client.RegisterAsync();
        var response = await Client.GetAsync("/v1/resources", user.Token, r => Accept(r, accept));
        response.AssertProblem(HttpStatusCode.NotAcceptable, "not_acceptable");
        (await Client.PostAsync("/v1/resources", new { name = "not made" }, user.Token, r => Accept(r, accept))).AssertProblem(HttpStatusCode.NotAcceptable, "not_acceptable");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("*/*")]
    [InlineData("application/*")]
    [InlineData("text/html, application/json;q=0.1")]
    [InlineData("application/problem+json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;q=0, */*")]
    [InlineData("not a media type at all")]
    public async Task An_accept_header_admitting_json_is_served(string accept)
    {
        var user = await Client.RegisterAsync();
        (await Client.GetAsync("/v1/resources", user.Token, r => Accept(r, accept))).AssertStatus(HttpStatusCode.OK);
    }
}

[Collection(Servers.Embedded)]
public sealed class ResourceTypeTestsOnEmbedded(EmbeddedServer server) : ResourceTypeTests(server);

[Collection(Servers.Postgres)]
public sealed class ResourceTypeTestsOnPostgres(PostgresServer server) : ResourceTypeTests(server);
