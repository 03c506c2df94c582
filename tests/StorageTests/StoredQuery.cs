using System.Data;
using System.Data.Common;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Runs an <c>OrleansQuery</c> text the way the Orleans ADO.NET providers do: parameters are
/// named without prefix and typed with the DbType Orleans assigns, and every result set is
/// read (Orleans aggregates rows across result sets).
/// </summary>
internal static class StoredQuery
{
    public static async Task<List<object?[]>> RunAsync(DbConnection connection, string key, CancellationToken ct,
        params (string Name, object? Value, DbType Type)[] parameters)
    {
        string text;
        await using (var lookup = connection.CreateCommand())
        {
            lookup.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key";
            var keyParameter = lookup.CreateParameter();
            keyParameter.ParameterName = "key";
            keyParameter.Value = key;
            lookup.Parameters.Add(keyParameter);
            text = (string)(await lookup.ExecuteScalarAsync(ct))!;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = text;
        foreach (var (name, value, type) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            parameter.DbType = type;
            command.Parameters.Add(parameter);
        }

        var rows = new List<object?[]>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        do
        {
            while (await reader.ReadAsync(ct))
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }
        }
        while (await reader.NextResultAsync(ct));

        return rows;
    }
}
