from ftrouter.cli.app import main

main()
