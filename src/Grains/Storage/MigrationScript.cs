namespace ApiPlatform.Grains.Storage;

/// <summary>
/// One embedded migration script, named <c>NNNN_name.sql</c> under
/// <c>Storage/Migrations/&lt;dialect&gt;/</c>. Scripts run once each, in <see cref="Version"/> order.
/// </summary>
/// <param name="Version">The numeric prefix of the file name; the key in <c>schema_migrations</c>.</param>
/// <param name="Name">The rest of the file name without the extension, recorded for humans.</param>
/// <param name="Sql">The script text, executed as one command inside one transaction.</param>
public sealed record MigrationScript(int Version, string Name, string Sql);
