using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace ApiPlatform.Grains.Storage;

/// <summary>Parameter helpers shared by the project's own SQL stores (PostgreSQL and SQLite alike).</summary>
public static class SqlCommandExtensions
{
    public static DbCommand With(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (value is null && parameter is NpgsqlParameter npgsql)
        {
            // An untyped null cannot be bound by PostgreSQL; every nullable column here is text.
            npgsql.NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text;
        }

        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>A nullable integer (timestamps in microseconds): a null is bound as a bigint, which PostgreSQL needs.</summary>
    public static DbCommand With(this DbCommand command, string name, long? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = System.Data.DbType.Int64;
        parameter.Value = value is { } v ? v : DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <summary>A PostgreSQL <c>text[]</c> parameter, for statements that take a batch as arrays (<c>unnest</c>).</summary>
    public static NpgsqlParameter<string[]> Texts(string name, IEnumerable<string> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = values.ToArray() };
}
