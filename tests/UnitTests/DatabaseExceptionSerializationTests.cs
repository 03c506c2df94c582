using System.Net.Sockets;
using ApiPlatform.Gateway.Failover;
using ApiPlatform.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;

namespace ApiPlatform.UnitTests;

/// <summary>
/// A database failure met by a grain on another silo reaches the gateway as what it was, so a transient one is a 503
/// (before, Orleans could not serialize Npgsql's exceptions and the gateway answered 500).
/// </summary>
public sealed class DatabaseExceptionSerializationTests
{
    private static Exception RoundTrip(Exception error)
    {
        using var services = new ServiceCollection()
            .AddSerializer(b => b.AddAssembly(typeof(PostgresExceptionConverter).Assembly))
            .AddDatabaseExceptionSerialization()
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer<Exception>>();
        return serializer.Deserialize(serializer.SerializeToArray(error)) ?? throw new InvalidOperationException("no exception read back");
    }

    [Fact]
    public void A_refused_connection_stays_a_transient_NpgsqlException()
    {
        var copy = RoundTrip(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)));

        var npgsql = Assert.IsType<NpgsqlException>(copy);
        Assert.True(npgsql.IsTransient);
        Assert.IsType<SocketException>(npgsql.InnerException);
        Assert.True(ClusterFailures.IsUnavailable(copy));
    }

    [Theory]
    [InlineData("57P01", true)]  // admin_shutdown: the server stops (fast shutdown) and ends the session
    [InlineData("57P03", true)]  // cannot_connect_now: the server is starting up
    [InlineData("08006", true)]  // connection_failure
    [InlineData("23505", false)] // unique_violation: a real error, not an outage
    public void A_PostgresException_keeps_its_sqlstate_and_so_its_transience(string sqlState, bool transient)
    {
        var copy = RoundTrip(new PostgresException("terminating connection", "FATAL", "FATAL", sqlState));

        var postgres = Assert.IsType<PostgresException>(copy);
        Assert.Equal(sqlState, postgres.SqlState);
        Assert.Equal("terminating connection", postgres.MessageText);
        Assert.Equal(transient, postgres.IsTransient);
        Assert.Equal(transient, ClusterFailures.IsUnavailable(copy));
    }
}
