namespace ApiPlatform.Grains.Storage;

/// <summary>
/// The <c>OrleansQuery</c> keys that the Orleans 10.4.x ADO.NET providers load at start-up and
/// that our migrations register. A provider whose required key is missing fails when the silo
/// starts, so the migrator checks these right after migrating.
/// </summary>
public static class OrleansQueryKeys
{
    /// <summary>
    /// Keys of Microsoft.Orleans.Clustering.AdoNet. All but <c>CleanupDefunctSiloEntryKey</c>
    /// are required by the provider; that one is optional and enables captured-value pruning of
    /// dead silo rows, which our scripts provide.
    /// </summary>
    public static IReadOnlyList<string> Clustering { get; } =
    [
        "InsertMembershipVersionKey",
        "InsertMembershipKey",
        "UpdateMembershipKey",
        "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey",
        "MembershipReadAllKey",
        "GatewaysQueryKey",
        "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey",
        "CleanupDefunctSiloEntryKey",
    ];

    /// <summary>
    /// Keys of Microsoft.Orleans.Persistence.AdoNet. <c>DeleteStorageKey</c> is only required
    /// when <c>DeleteStateOnClear</c> is enabled; our scripts provide it so either setting works.
    /// </summary>
    public static IReadOnlyList<string> Persistence { get; } =
    [
        "WriteToStorageKey",
        "ReadFromStorageKey",
        "ClearStorageKey",
        "DeleteStorageKey",
    ];

    /// <summary>Keys of Microsoft.Orleans.Reminders.AdoNet (all required).</summary>
    public static IReadOnlyList<string> Reminders { get; } =
    [
        "UpsertReminderRowKey",
        "ReadReminderRowsKey",
        "ReadReminderRowKey",
        "ReadRangeRows1Key",
        "ReadRangeRows2Key",
        "DeleteReminderRowKey",
        "DeleteReminderRowsKey",
    ];

    /// <summary>Everything the PostgreSQL migrations register: clustering, persistence and reminders.</summary>
    public static IReadOnlyList<string> Postgres { get; } = [.. Clustering, .. Persistence, .. Reminders];

    /// <summary>Everything the SQLite migrations register: grain persistence only.</summary>
    public static IReadOnlyList<string> Sqlite { get; } = Persistence;
}
