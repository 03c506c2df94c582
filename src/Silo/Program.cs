using ApiPlatform.Silo.Hosting;

await SiloHost.Build(args).RunAsync();
