using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// Database failures cross silos intact, so that the gateway can tell a transient one (PostgreSQL restarting, a
/// connection refused or cut) from a real error wherever the grain that met it lives.
/// </summary>
/// <remarks>
/// Orleans serializes only exceptions of the namespaces it knows (Microsoft, System, Azure, Orleans); the response
/// of a grain on another silo that threw an <see cref="NpgsqlException"/> failed to serialize and reached the gateway
/// as a <c>CodecNotFoundException</c>, a 500 instead of a 503. With the Npgsql namespace allowed, the generic
/// exception codec carries the type, message, stack and inner exception: enough for
/// <see cref="NpgsqlException.IsTransient"/>, which reads the inner exception. <see cref="PostgresException"/>'s
/// transience reads its SQLSTATE, a field that codec does not carry, so it travels as the surrogate below.
/// </remarks>
public static class DatabaseExceptions
{
    public static IServiceCollection AddDatabaseExceptionSerialization(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
}

/// <summary>What of a <see cref="PostgresException"/> crosses silos: enough to rebuild its message and SQLSTATE.</summary>
[GenerateSerializer, Immutable, Alias("storage.postgres-exception.v1")]
public readonly record struct PostgresExceptionSurrogate(
    [property: Id(0)] string MessageText,
    [property: Id(1)] string Severity,
    [property: Id(2)] string InvariantSeverity,
    [property: Id(3)] string SqlState);

/// <summary>Converts a <see cref="PostgresException"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class PostgresExceptionConverter : IConverter<PostgresException, PostgresExceptionSurrogate>
{
    public PostgresException ConvertFromSurrogate(in PostgresExceptionSurrogate surrogate) =>
        new(surrogate.MessageText, surrogate.Severity, surrogate.InvariantSeverity, surrogate.SqlState);

    public PostgresExceptionSurrogate ConvertToSurrogate(in PostgresException value) =>
        new(value.MessageText, value.Severity, value.InvariantSeverity, value.SqlState);
}
