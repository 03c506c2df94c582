using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ApiPlatform.ApiTests;

/// <summary>
/// A query on an indexed field whose index is still being built is 409 <c>conflict</c> naming the parameter, and
/// answers once the build finishes. A server of its own whose re-index worker (<see cref="ResourceIndexBuilder"/>) is
/// held: the host is built without it, and the test starts the product's own worker when it has seen the 409s, so the
/// building state lasts exactly as long as the test needs it, with no timing involved.
/// </summary>
public abstract class IndexBuildingTests
{
    protected abstract ApiServer CreateServer();

    [Fact]
    public async Task A_query_on_an_index_still_being_built_is_409_and_answers_once_it_is_built()
    {
        var server = CreateServer();
        await using var _ = server;
        if (!server.Available)
        {
            Assert.Skip("PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        }

        server.ConfigureHost = builder => builder.Host.UseServiceProviderFactory(new WithoutIndexBuilder());
        await server.InitializeAsync();
        using var client = server.CreateClient();
        var user = await client.RegisterAsync();

        // Resources first, indexes after: by a change of a declared type, and by declaring a type its resources already have.
        (await client.PostAsync("/v1/resource-types", new { name = "item" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var prices = new[] { 5.5, -1, 3, 12 };
        var ids = new List<string>();
        foreach (var price in prices)
        {
            ids.Add((string)(await client.PostAsync("/v1/resources", new { name = "i", type = "item", metadata = new { price } }, user.Token))
                .AssertStatus(HttpStatusCode.Created).Data["id"]!);
        }

        (await client.PostAsync("/v1/resources", new { name = "g", type = "gadget", metadata = new { color = "red" } }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var changed = (await client.PatchAsync("/v1/resource-types/item", new { indexes = new[] { new { field = "price", type = "number" } } }, user.Token))
            .AssertStatus(HttpStatusCode.OK).Data;
        Assert.Equal("building", (string?)changed["indexes"]![0]!["status"]);
        var declared = (await client.PostAsync("/v1/resource-types", new { name = "gadget", indexes = new[] { new { field = "color", type = "string" } } }, user.Token))
            .AssertStatus(HttpStatusCode.Created).Data;
        Assert.Equal("building", (string?)declared["indexes"]![0]!["status"]);

        foreach (var (query, parameter) in new[]
        {
            ("filter[type]=item&filter[metadata.price][gte]=0", "filter[metadata.price][gte]"),
            ("filter[type]=item&sort=-metadata.price", "sort"),
            ("filter[type]=gadget&filter[metadata.color]=red", "filter[metadata.color]"),
        })
        {
            var problem = (await client.GetAsync("/v1/resources?" + query, user.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict");
            Assert.True(problem["errors"]?[parameter] is not null, problem.ToJsonString());
        }

        Assert.Equal("building", (string?)(await client.GetAsync("/v1/resource-types/item", user.Token)).Data["indexes"]![0]!["status"]);

        // The product's worker, let go: both builds finish and the same queries answer.
        var worker = ActivatorUtilities.CreateInstance<ResourceIndexBuilder>(server.Services);
        await worker.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            foreach (var type in new[] { "item", "gadget" })
            {
                await Eventually.HoldsAsync(async () =>
                    (string?)(await client.GetAsync($"/v1/resource-types/{type}", user.Token)).Data["indexes"]![0]!["status"] == "ready",
                    $"the indexes of {type} to be built");
            }

            var page = (await client.GetAsync("/v1/resources?filter[type]=item&filter[metadata.price][gte]=0&sort=-metadata.price", user.Token))
                .AssertStatus(HttpStatusCode.OK);
            Assert.Equal(new[] { ids[3], ids[0], ids[2] }, page.Data.AsArray().Select(r => (string)r!["id"]!));
            Assert.Equal(3, (int?)page.Json["meta"]!["total"]);
            var red = (await client.GetAsync("/v1/resources?filter[type]=gadget&filter[metadata.color]=red", user.Token)).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(1, (int?)red.Json["meta"]!["total"]);
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>The host's services as the product registers them, less the re-index worker.</summary>
    private sealed class WithoutIndexBuilder : IServiceProviderFactory<IServiceCollection>
    {
        private readonly DefaultServiceProviderFactory _inner = new();

        public IServiceCollection CreateBuilder(IServiceCollection services)
        {
            var worker = services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(ResourceIndexBuilder));
            services.Remove(worker);
            return _inner.CreateBuilder(services);
        }

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder) => _inner.CreateServiceProvider(containerBuilder);
    }
}

public sealed class IndexBuildingTestsOnEmbedded : IndexBuildingTests
{
    protected override ApiServer CreateServer() => new EmbeddedServer();
}

public sealed class IndexBuildingTestsOnPostgres : IndexBuildingTests
{
    protected override ApiServer CreateServer() => new PostgresServer();
}
