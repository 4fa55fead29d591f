from juncture.cli.main import main

main()
