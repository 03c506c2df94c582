using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace StreamsProbe;

/// <summary>
/// One process of the stream-provider trial (bench/run-streams-probe.sh). <c>migrate</c> creates the clustering and
/// ADO.NET streaming tables; <c>silo</c> runs a silo whose events travel on the named provider: an implicitly
/// subscribed consumer prints each event's latency ("LAT ms"), and with <c>--produce-when FILE</c> the silo publishes
/// <c>--count</c> events at <c>--rate</c> per second once that file exists.
/// </summary>
internal static class Program
{
    public const string Provider = "probe";
    public const string Namespace = "probe";

    private static async Task<int> Main(string[] args)
    {
        var o = args.Skip(1).Chunk(2).ToDictionary(p => p[0].TrimStart('-'), p => p[1]);
        var connection = o["connection"];
        if (args[0] == "migrate")
        {
            await using var data = NpgsqlDataSource.Create(connection);
            foreach (var file in new[] { "0001_orleans_query.sql", "0002_clustering.sql" })
            {
                await using var command = data.CreateCommand(await File.ReadAllTextAsync(Path.Combine(o["migrations"], file)));
                await command.ExecuteNonQueryAsync();
            }

            await using var stream = typeof(Program).Assembly.GetManifestResourceStream("StreamsProbe.adonet-streaming.sql")!;
            await using var streaming = data.CreateCommand(await new StreamReader(stream).ReadToEndAsync());
            await streaming.ExecuteNonQueryAsync();
            return 0;
        }

        var adonet = o["provider"] == "adonet";
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(c =>
            {
                c.ClusterId = o["cluster"];
                c.ServiceId = o["cluster"];
            });
            silo.Configure<SiloOptions>(s => s.SiloName = o["name"]);
            silo.ConfigureEndpoints(IPAddress.Loopback, int.Parse(o["silo-port"], CultureInfo.InvariantCulture),
                int.Parse(o["gateway-port"], CultureInfo.InvariantCulture));
            silo.UseAdoNetClustering(c =>
            {
                c.Invariant = "Npgsql";
                c.ConnectionString = connection;
            });
            silo.AddMemoryGrainStorage("PubSubStore");
            if (adonet)
            {
                // The provider's defaults: a poll every 100 ms per queue, 8 queues.
                silo.AddAdoNetStreams(Provider, c =>
                {
                    c.Invariant = "Npgsql";
                    c.ConnectionString = connection;
                });
            }
            else
            {
                silo.AddMemoryStreams(Provider, s => s.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly));
            }
        });
        using var host = builder.Build();
        await host.StartAsync();

        if (o.TryGetValue("produce-when", out var trigger))
        {
            while (!File.Exists(trigger))
            {
                await Task.Delay(200);
            }

            var client = host.Services.GetRequiredService<IClusterClient>();
            var provider = client.GetStreamProvider(Provider);
            var rate = int.Parse(o["rate"], CultureInfo.InvariantCulture);
            var count = int.Parse(o["count"], CultureInfo.InvariantCulture);
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                var due = start + (long)(i * Stopwatch.Frequency / (double)rate);
                while (Stopwatch.GetTimestamp() < due)
                {
                    await Task.Delay(1);
                }

                await provider.GetStream<long>(StreamId.Create(Namespace, "key-" + (i % 10))).OnNextAsync(DateTime.UtcNow.Ticks);
            }

            Console.WriteLine("PRODUCED " + count);
        }

        await host.WaitForShutdownAsync();
        return 0;
    }
}

public interface IProbeConsumer : IGrainWithStringKey;

/// <summary>Prints how long each event took from its publication (the ticks it carries) to here.</summary>
[ImplicitStreamSubscription(Program.Namespace)]
public sealed class ProbeConsumer : Grain, IProbeConsumer, IStreamSubscriptionObserver, IAsyncObserver<long>
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) => await handleFactory.Create<long>().ResumeAsync(this);

    public Task OnNextAsync(long item, StreamSequenceToken? token = null)
    {
        Console.WriteLine(FormattableString.Invariant($"LAT {(DateTime.UtcNow.Ticks - item) / 10_000.0:0.00}"));
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
